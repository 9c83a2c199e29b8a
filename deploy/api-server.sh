#!/usr/bin/env bash
# airflow-apiserver (docker-compose.yml): the UI and REST API behind a login.
#
# Airflow's Simple auth manager reads the users from AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS and
# their passwords from a JSON file. Left alone it would generate a password and print it to the
# log; instead the file is written here, on every start, from AIRFLOW_ADMIN_PASSWORD in .env (so
# changing the password is editing .env and `docker compose up -d`). The file lives in the
# container, never on a volume, readable by its owner only; the variable is dropped from the
# environment before the API server starts.
set -euo pipefail

PLACEHOLDER="change-me"
MIN_LENGTH=12

fail() {
  echo "airflow-apiserver: $*" >&2
  exit 1
}

password="${AIRFLOW_ADMIN_PASSWORD:-}"
username="${AIRFLOW_ADMIN_USERNAME:-admin}"
passwords_file="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}"

[[ -n "${passwords_file}" ]] || fail "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE is not set"
[[ -n "${password}" ]] || fail "set AIRFLOW_ADMIN_PASSWORD in .env (see .env.example)"
[[ "${password}" != *"${PLACEHOLDER}"* ]] \
  || fail "AIRFLOW_ADMIN_PASSWORD in .env is still the placeholder '${PLACEHOLDER}'"
(( ${#password} >= MIN_LENGTH )) || fail "AIRFLOW_ADMIN_PASSWORD must have at least ${MIN_LENGTH} characters"
# A user missing from the list could not log in with the password written below.
[[ ",${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-}," == *",${username}:"* ]] \
  || fail "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS does not list the user '${username}'"

# The password travels through the environment, never a command line (visible in `ps`).
AIRFLOW_ADMIN_USERNAME="${username}" python - "${passwords_file}" <<'PY'
import json
import os
import sys
from pathlib import Path

target = Path(sys.argv[1])
target.parent.mkdir(parents=True, exist_ok=True)
temp = target.with_name(f".{target.name}.tmp")
temp.unlink(missing_ok=True)
# Created owner-only from the start: no moment where the file is readable by the group.
fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, "w", encoding="utf-8") as out:
    json.dump({os.environ["AIRFLOW_ADMIN_USERNAME"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, out)
    out.write("\n")
os.replace(temp, target)
PY

unset AIRFLOW_ADMIN_PASSWORD
exec airflow api-server "$@"
