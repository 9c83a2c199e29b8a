"""
### EduOpen · source freshness: are the sources still arriving?

Every raw source declares how old its newest load may grow (`freshness` in
`dbt_project/models/staging/raw/_raw__sources.yml`: releases 14 days, each statistics publisher
its own pace). Once a day this DAG runs **`dbt source freshness`** on the published warehouse,
opened read-only, so it judges what analysts read.

A source past its limit fails the task (no retries: waiting does not bring data), and the failure
alert (`EDUOPEN_ALERT_*`) names each stale source with its last load. A quiet source does not stop
the warehouse DAG: a stale source is news for an operator, not a broken build. It runs on a clock
rather than after each publish because staleness is what happens when nothing arrives, and then
nothing is published either.

Same step outside Airflow: `eduopen freshness`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task

from eduopen.orchestration.dag_support import START_DATE, as_xcom, default_args, fail_without_retry_on_permanent_errors


@task(multiple_outputs=False)
def source_freshness() -> dict[str, Any]:
    """`dbt source freshness` on the published warehouse; fails, naming the stale sources, when any is."""
    from eduopen.warehouse.freshness import require_fresh

    with fail_without_retry_on_permanent_errors():
        return as_xcom(require_fresh().as_dict())


@dag(
    dag_id="eduopen_freshness",
    schedule="0 5 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args=default_args(execution_timeout=timedelta(minutes=15)),
    tags=["eduopen", "freshness", "dbt"],
    doc_md=__doc__,
)
def eduopen_freshness() -> None:
    source_freshness()


eduopen_freshness()
