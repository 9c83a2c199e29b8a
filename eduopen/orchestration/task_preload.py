"""What an EduOpen task would import on its own, imported once by the process its task is forked from.

Airflow's LocalExecutor runs each task in a process forked from one of its long-lived workers,
and the task then imports what it needs: dbt, Great Expectations, DuckDB, the pipeline. On two
cores that is seconds of CPU per task (Great Expectations alone ~5 s), paid again by every task
between a new release and its publish. With the scheduler's multiprocessing start method set to
`forkserver` and this module in its preload list, the workers start from a server process that
imported all of it once, and every task finds it already in `sys.modules`:

    AIRFLOW__SCHEDULER__MP_START_METHOD=forkserver
    AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD=eduopen.orchestration.task_preload

(the local mode, `demo.airflow_local`, and docker-compose.yml set both.) Importing starts no
thread and opens no file or connection, so forking afterwards is safe. A module that fails to
import is logged and left to the task, which then fails with the error itself: a bad preload must
never stop the forkserver, or no task could start at all.

Never imported by a DAG file: parsing stays import-light.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger("eduopen.airflow")

# What a task imports when it starts and runs, heaviest first (each brings its dependencies).
TASK_MODULES = (
    "great_expectations",
    "great_expectations.data_context.types.base",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "duckdb",
    # Airflow's own start of every task: the DAG file loader, and the plugins whose listeners it
    # registers (OpenLineage, Cosmos, EduOpen's docs links).
    "airflow.sdk.execution_time.task_runner",
    "airflow.dag_processing.dagbag",
    "airflow.providers.openlineage.plugins.openlineage",
    "airflow.providers.openlineage.plugins.listener",
    "cosmos.plugin",
    "eduopen.orchestration.docs_links",
    # What the DAG files import.
    "eduopen.orchestration.dag_support",
    "eduopen.pipeline",
    "eduopen.warehouse.build",
    "expectations.validate",
    "eduopen.publish",
    "ingest.http",
    "ingest.raw_store",
    "ingest.sources",
    "eduopen.orchestration.lineage",
    "eduopen.orchestration.mart_assets",
)


def preload(modules: tuple[str, ...] = TASK_MODULES) -> list[str]:
    """Import `modules`; returns the ones that failed, each logged with its error."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - see the module doc: never stop the forkserver
            log.warning(
                "task preload: %s not imported (%s: %s); tasks import it themselves", name, type(exc).__name__, exc
            )
            failed.append(name)
    return failed


# Read by the tests through a forked task's `sys.modules`: empty when every module came in.
NOT_PRELOADED = preload()
