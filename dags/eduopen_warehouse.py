"""
### EduOpen · warehouse: prepare → dbt build → validate → publish

Write–audit–publish, run whenever new raw data lands (an event on `eduopen://raw/releases` or
`eduopen://raw/statistics`):

1. **prepare_audit** — start the *audit* copy (`audit.duckdb`) from the published warehouse and
   load fresh copies of the raw tables into it.
2. **dbt_build** — the dbt project builds staging and marts into the audit copy (`dbt build`:
   seeds, models, their data tests and unit tests, the tests on the raw sources). A failing test
   fails the task, and nothing downstream runs.
3. **validate** — the quality gate: Great Expectations on the audit copy. A failed gate fails
   this task (no retries) and the run; **publish** never starts, and the published warehouse
   stays byte for byte as it was. The GX Data Docs say which expectations failed.
4. **publish** — atomic swap of the audit copy into `warehouse.duckdb` plus Parquet exports;
   emits one Asset per mart model of the dbt project (`eduopen://marts/<model>`), each event
   carrying the mart's row count, the published file's sha256 and the publish time.

**dbt as one task** is the default: every run is an event (a new release, a new data version)
waiting to be published, and each Airflow task costs a task start, so four tasks between the raw
data and its publish keep that wait short. **One task per dbt model and seed** is the opt-in
(`EDUOPEN_DBT_TASKS=per_node`): Astronomer Cosmos draws the `dbt` task group from a pre-built
`manifest.json` (`python -m eduopen.warehouse.manifest`), each task building its node and running
its tests (`dbt build --select <node>`), with `dbt source freshness` and the raw sources' tests
before the staging models that read them; a failing test stops only what is downstream of it.
It adds a minute or more to every run. Without a usable manifest (none yet, or the dbt project
changed since it was parsed) that mode falls back to **dbt_build**, and the DAG processor log
says why.

Trigger with `{"full_refresh": true}` to rebuild incremental models from scratch.
Every task runs in the one-slot pool `eduopen_duckdb_writer`: one DuckDB writer at a time. Once
prepare_audit has run, the run's tasks go before any queued ingest or docs task, so a build under
way publishes without waiting; prepare_audit itself waits for the ingest tasks queued before it, so
one build takes in everything they loaded.

Same steps outside Airflow: `eduopen transform` (prepare + `dbt build`), `eduopen validate`,
`eduopen publish`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from eduopen.core.paths import Home
from eduopen.orchestration.cosmos_dbt import dbt_task_group
from eduopen.orchestration.dag_support import (
    RAW_RELEASES,
    RAW_STATISTICS,
    START_DATE,
    WAREHOUSE_PRIORITY,
    as_xcom,
    default_args,
    fail_without_retry_on_permanent_errors,
    log,
    warehouse_start_args,
)
from eduopen.orchestration.mart_assets import PUBLISHED_MARTS, announce_published_marts
from eduopen.warehouse.manifest import check_manifest, dbt_tasks

MANIFEST = check_manifest(Home.from_env())
if not MANIFEST.usable and dbt_tasks() == "per_node":
    log.warning("eduopen_warehouse: dbt runs as one `dbt build` task: %s", MANIFEST.reason)


@task(multiple_outputs=False, execution_timeout=timedelta(minutes=15), **warehouse_start_args())
def prepare_audit() -> dict[str, int]:
    """Copy the published warehouse to the audit copy and reload its raw tables; returns rows per raw table."""
    from eduopen import pipeline
    from eduopen.orchestration.lineage import report_prepare_audit

    with fail_without_retry_on_permanent_errors():
        rows = as_xcom(pipeline.prepare_audit())
    report_prepare_audit(rows)
    return rows


@task(multiple_outputs=False, execution_timeout=timedelta(minutes=45))
def dbt_build(*, params: Any = None) -> dict[str, Any]:
    """The whole dbt project as one `dbt build` into the audit copy; fails on a failing test."""
    from eduopen import pipeline
    from eduopen.orchestration.lineage import report_dbt_build

    full_refresh = bool((params or {}).get("full_refresh", False))
    with fail_without_retry_on_permanent_errors():
        summary = as_xcom(pipeline.build_audit(full_refresh))
    # A build with nothing new runs no dbt node: there is no lineage to report.
    if not summary.get("dbt_skipped"):
        report_dbt_build()
    return summary


@task(multiple_outputs=False, execution_timeout=timedelta(minutes=30))
def validate() -> dict[str, Any]:
    """The quality gate on the audit warehouse; raises (and fails the run) when it rejects the build."""
    from eduopen import pipeline

    with fail_without_retry_on_permanent_errors():
        return as_xcom(pipeline.validate())


@task(outlets=PUBLISHED_MARTS, multiple_outputs=False, execution_timeout=timedelta(minutes=15))
def publish(*, outlet_events: Any = None) -> dict[str, Any]:
    """Swap the validated audit build into the published warehouse and export Parquet."""
    from eduopen import pipeline
    from eduopen.orchestration.lineage import report_publish

    with fail_without_retry_on_permanent_errors():
        result = as_xcom(pipeline.publish())
    announce_published_marts(result, outlet_events)
    report_publish(result)
    return result


@dag(
    dag_id="eduopen_warehouse",
    schedule=(RAW_RELEASES | RAW_STATISTICS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args(execution_timeout=timedelta(minutes=45), priority_weight=WAREHOUSE_PRIORITY),
    params={"full_refresh": Param(False, type="boolean", description="rebuild incremental models")},
    tags=["eduopen", "warehouse", "dbt", "great_expectations"],
    doc_md=__doc__,
)
def eduopen_warehouse() -> None:
    if MANIFEST.usable:
        dbt = dbt_task_group(MANIFEST, Home.from_env(), full_refresh="{{ params.full_refresh }}")
    else:
        dbt = dbt_build()
    prepare_audit() >> dbt >> validate() >> publish()


eduopen_warehouse()
