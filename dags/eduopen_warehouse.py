"""
### EduOpen · warehouse: transform → validate → publish

Write–audit–publish, run whenever new raw data lands (an event on `eduopen://raw/releases` or
`eduopen://raw/statistics`):

1. **transform** — dbt builds staging and marts into the *audit* copy (`audit.duckdb`).
2. **validate** — the quality gate: Great Expectations on the audit copy. A failed gate fails
   this task (no retries) and the run; **publish** never starts, and the published warehouse
   stays byte for byte as it was. The GX Data Docs say which expectations failed.
3. **publish** — atomic swap of the audit copy into `warehouse.duckdb` plus Parquet exports;
   emits one Asset per published mart (`eduopen://marts/...`) for whatever consumes them.

Trigger with `{"full_refresh": true}` to rebuild incremental models from scratch.
Every task runs in the one-slot pool `eduopen_duckdb_writer`.

Same steps outside Airflow: `eduopen transform`, `eduopen validate`, `eduopen publish`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from _eduopen_common import (
    PUBLISHED_MARTS,
    RAW_RELEASES,
    RAW_STATISTICS,
    START_DATE,
    announce_published_marts,
    as_xcom,
    default_args,
    fail_without_retry_on_permanent_errors,
)
from airflow.sdk import Param, dag, task


@task(multiple_outputs=False, execution_timeout=timedelta(minutes=45))
def transform(*, params: Any = None) -> dict[str, Any]:
    """dbt seed + build into the audit warehouse; returns dbt's summary."""
    from ingest import pipeline

    full_refresh = bool((params or {}).get("full_refresh", False))
    with fail_without_retry_on_permanent_errors():
        return as_xcom(pipeline.transform(full_refresh=full_refresh))


@task(multiple_outputs=False, execution_timeout=timedelta(minutes=30))
def validate() -> dict[str, Any]:
    """The quality gate on the audit warehouse; raises (and fails the run) when it rejects the build."""
    from ingest import pipeline

    with fail_without_retry_on_permanent_errors():
        return as_xcom(pipeline.validate())


@task(outlets=PUBLISHED_MARTS, multiple_outputs=False, execution_timeout=timedelta(minutes=15))
def publish(*, outlet_events: Any = None) -> dict[str, Any]:
    """Swap the validated audit build into the published warehouse and export Parquet."""
    from ingest import pipeline

    with fail_without_retry_on_permanent_errors():
        result = as_xcom(pipeline.publish())
    announce_published_marts(result, outlet_events)
    return result


@dag(
    dag_id="eduopen_warehouse",
    schedule=(RAW_RELEASES | RAW_STATISTICS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args(execution_timeout=timedelta(minutes=45)),
    params={"full_refresh": Param(False, type="boolean", description="rebuild incremental models")},
    tags=["eduopen", "warehouse", "dbt", "great_expectations"],
    doc_md=__doc__,
)
def eduopen_warehouse() -> None:
    transform() >> validate() >> publish()


eduopen_warehouse()
