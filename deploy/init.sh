#!/usr/bin/env bash
# airflow-init (docker-compose.yml): the one-shot set-up every other Airflow service waits for.
#
#   1. refuses missing, placeholder or malformed secrets: a copied .env.example must not start a
#      deployment with a guessable key;
#   2. refuses CeleryExecutor when the `celery` profile (Redis) is not running;
#   3. migrates the metadata database;
#   4. creates the one-slot pool every EduOpen task runs in (one DuckDB writer at a time);
#   5. lays out EDUOPEN_HOME on its volume;
#   6. builds the dbt manifest the warehouse DAG draws its dbt tasks from (Cosmos), from the
#      mounted dbt project: a no-op when the project is unchanged since the last start.
#
# Idempotent: it runs again on every `docker compose up`. Never prints a secret's value.
set -euo pipefail

PLACEHOLDER="change-me"

fail() {
  echo "airflow-init: $*" >&2
  exit 1
}

# Airflow setting -> the .env variable it is built from (for messages an operator can act on).
declare -A SOURCE_OF=(
  [AIRFLOW__DATABASE__SQL_ALCHEMY_CONN]="POSTGRES_PASSWORD"
  [AIRFLOW__CORE__FERNET_KEY]="AIRFLOW_FERNET_KEY"
  [AIRFLOW__API__SECRET_KEY]="AIRFLOW_API_SECRET_KEY"
  [AIRFLOW__API_AUTH__JWT_SECRET]="AIRFLOW_JWT_SECRET"
)
for setting in "${!SOURCE_OF[@]}"; do
  value="${!setting:-}"
  [[ -n "${value}" ]] || fail "${setting} is empty: set ${SOURCE_OF[${setting}]} in .env (see .env.example)"
  if [[ "${value}" == *"${PLACEHOLDER}"* ]]; then
    fail "${SOURCE_OF[${setting}]} in .env is still the placeholder '${PLACEHOLDER}':" \
         "run 'python3 deploy/new_env.py' for a .env with generated secrets"
  fi
done

# A malformed key would only surface when the first connection or variable is encrypted.
# Several comma-separated keys are allowed: the first encrypts, all decrypt (key rotation).
if ! python - 2>/dev/null <<'PY'
import os
from cryptography.fernet import Fernet

for key in os.environ["AIRFLOW__CORE__FERNET_KEY"].split(","):
    Fernet(key.strip())
PY
then
  fail "AIRFLOW_FERNET_KEY in .env is not a Fernet key (32 url-safe base64-encoded bytes)"
fi

executor="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
if [[ "${executor}" == *CeleryExecutor* ]]; then
  broker="${AIRFLOW__CELERY__BROKER_URL:-}"
  [[ -n "${broker}" && "${broker}" != *"${PLACEHOLDER}"* ]] \
    || fail "CeleryExecutor needs REDIS_PASSWORD in .env (not the placeholder)"
  # The broker's host only resolves when its service runs, i.e. with the `celery` profile.
  if ! python - 2>/dev/null <<'PY'
import os
import socket
from urllib.parse import urlsplit

url = urlsplit(os.environ["AIRFLOW__CELERY__BROKER_URL"])
socket.getaddrinfo(url.hostname, url.port or 6379)
PY
  then
    fail "AIRFLOW_EXECUTOR=CeleryExecutor but its broker is not running: set COMPOSE_PROFILES=celery in .env"
  fi
fi

echo "airflow-init: migrating the metadata database"
airflow db migrate

# The pool name has one home in the code (the DAGs and the local mode use the same constant).
pool="$(python -c 'from eduopen.orchestration.pools import WRITER_POOL; print(WRITER_POOL)')"
echo "airflow-init: pool ${pool} (1 slot)"
airflow pools set "${pool}" 1 "EduOpen: one writer per DuckDB file at a time"

home="$(python -c 'from eduopen.core.paths import Home; print(Home.from_env().ensure().root)')"
echo "airflow-init: EDUOPEN_HOME ready at ${home} (executor: ${executor})"

# Before the DAG processor first parses the warehouse DAG; without it the DAG would fall back to
# a single `dbt build` task.
python -m eduopen.warehouse.manifest
