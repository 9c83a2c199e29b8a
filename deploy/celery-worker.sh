#!/usr/bin/env bash
# airflow-worker (the `celery` profile of docker-compose.yml): a Celery worker that runs tasks.
#
# Compose cannot switch the executor with a profile, so .env carries both settings
# (COMPOSE_PROFILES=celery and AIRFLOW_EXECUTOR=CeleryExecutor). A worker started without the
# second would wait forever for tasks the scheduler runs itself: say so and stop instead.
set -euo pipefail

executor="${AIRFLOW__CORE__EXECUTOR:-}"
if [[ "${executor}" != *CeleryExecutor* ]]; then
  echo "airflow-worker: the executor is '${executor:-unset}', so no task would reach this worker:" \
       "set AIRFLOW_EXECUTOR=CeleryExecutor in .env next to COMPOSE_PROFILES=celery" >&2
  exit 1
fi

# exec: the worker is the container's main process and gets SIGTERM for a warm shutdown
# (docker-compose.yml sets DUMB_INIT_SETSID=0 for it).
exec airflow celery worker "$@"
