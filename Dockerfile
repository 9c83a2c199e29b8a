# syntax=docker/dockerfile:1
#
# EduOpen's Airflow image: the official Apache Airflow image of the version pinned in uv.lock, with
# EduOpen's locked dependencies and its code on top. docker-compose.yml builds it; on its own:
#
#     docker build --tag eduopen-airflow:local .
#
# Extends the image the way the Airflow docker-stack docs describe: packages installed with
# `pip install --no-cache-dir` as the `airflow` user, `apache-airflow` held at the image's version.
# No secret enters the image: everything sensitive comes from the environment at run time
# (docker-compose.yml reads it from .env, which .dockerignore keeps out of the build context).

# Must be the apache-airflow version of uv.lock and the Python of pyproject.toml
# (tests/integration/test_deployment.py checks both).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11

# --- stage 1: uv.lock -> a pip requirements file with hashes (uv stays out of the final image) ---
FROM ${AIRFLOW_IMAGE} AS requirements
# The uv the Makefile pins: the lock format is the one it wrote.
ARG UV_VERSION=0.13.8
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
COPY pyproject.toml uv.lock /tmp/lock/
WORKDIR /tmp/lock
# --frozen: export the lock exactly as committed, never re-resolve. Runtime dependencies only
# (no dev group); the project itself is installed from its sources below.
RUN uv export --frozen --no-dev --extra airflow --extra celery --no-emit-project --no-header --quiet --output-file /tmp/requirements.txt

# --- stage 2: the Data Docs' CSS, JavaScript and fonts (pinned npm tarballs, sha256-checked) ---
FROM ${AIRFLOW_IMAGE} AS data-docs-assets
COPY eduopen/ /tmp/src/eduopen/
COPY expectations/ /tmp/src/expectations/
WORKDIR /tmp/src
RUN python -m expectations.data_docs_assets --dest /tmp/data-docs

# --- stage 3: the runtime image ---
FROM ${AIRFLOW_IMAGE}

COPY --from=requirements /tmp/requirements.txt /opt/eduopen/requirements.txt
# The lock pins apache-airflow too: refuse to build rather than let pip swap the image's Airflow
# for another version. --require-hashes checks every download against the hashes in uv.lock.
# Packages the image ships and the lock does not name (the postgres driver, the Celery provider
# and Redis client of the `celery` profile) stay as the image installed them.
RUN locked="$(sed -n 's/^apache-airflow==\([^ ;]*\).*/\1/p' /opt/eduopen/requirements.txt)" \
 && if [ "${locked}" != "${AIRFLOW_VERSION}" ]; then \
      echo "uv.lock pins apache-airflow ${locked:-<none>} but the base image has ${AIRFLOW_VERSION}:" \
           "change AIRFLOW_IMAGE to match" >&2; \
      exit 1; \
    fi \
 && pip install --no-cache-dir --require-hashes --requirement /opt/eduopen/requirements.txt

# The code lives in one tree because eduopen/core/paths.py finds dbt_project/, expectations/ and
# ingest/sources.yml beside the packages. An editable install keeps it that way and adds the
# `eduopen` command. docker-compose.yml mounts dags/, dbt_project/ and expectations/ over these
# copies (read-only), so editing a DAG, a model or a suite needs no rebuild; Python changes do.
# demo/, bench/ and tests/ stay out: the replay and the synthetic data are not for production.
COPY pyproject.toml README.md /opt/eduopen/
COPY eduopen/ /opt/eduopen/eduopen/
COPY ingest/ /opt/eduopen/ingest/
COPY expectations/ /opt/eduopen/expectations/
COPY dbt_project/ /opt/eduopen/dbt_project/
COPY dags/ /opt/eduopen/dags/
COPY deploy/ /opt/eduopen/deploy/
RUN pip install --no-cache-dir --no-deps --editable /opt/eduopen
# Where expectations/data_docs_assets.py looks (beside the code, outside the read-only mounts).
COPY --from=data-docs-assets /tmp/data-docs /opt/eduopen/vendor/data-docs

# EDUOPEN_HOME: the code above stays root-owned and read-only to Airflow; only the data directory
# is writable. Group 0 and group-write follow the image's arbitrary-UID convention (AIRFLOW_UID).
# A named volume mounted here starts as a copy of this directory, ownership included.
USER root
RUN mkdir -p /opt/eduopen/data \
 && chown -R airflow:0 /opt/eduopen/data \
 && chmod -R g+rwX /opt/eduopen/data
USER airflow

ENV EDUOPEN_HOME=/opt/eduopen/data \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/eduopen/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False

# Fail the build, not the first task, when a module the tasks or the deployment need is missing.
# Plain imports only: running the `airflow` CLI here would write an airflow.cfg with generated
# keys into the image.
RUN python -c "import importlib.util as u, sys; \
import eduopen.pipeline, eduopen.warehouse.build, expectations.validate, dbt.cli.main, great_expectations, cosmos; \
missing = [m for m in ('psycopg2', 'airflow.providers.celery', 'redis') if u.find_spec(m) is None]; \
sys.exit(f'missing from the image: {missing}' if missing else 0)"

WORKDIR /opt/airflow
