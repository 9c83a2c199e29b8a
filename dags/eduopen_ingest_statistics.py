"""
### EduOpen · ingest statistics

Fetches the statistics of every `kind: statistics` source in `ingest/sources.yml` (today the
UNESCO UIS Data API, `uis`: international student mobility) into the raw layer. The UIS data
version is the cursor: an unchanged version costs one request and adds nothing.

* **Emits** `eduopen://raw/statistics` on success (counts in the event's *extra*), which
  schedules **eduopen_warehouse**.
* **Schedule**: daily as a fallback (UIS publishes a few times a year).
* **Writes** `raw/catalog.duckdb`: every task runs in the one-slot pool `eduopen_duckdb_writer`.
* **Base URL** from `EDUOPEN_UIS_URL` when set (the replay server in tests and demo).

Same step outside Airflow: `eduopen ingest uis`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from _eduopen_common import (
    RAW_STATISTICS,
    START_DATE,
    default_args,
    ingest_and_announce,
    sources_of_kind,
)
from airflow.sdk import dag, task

STATISTICS_SOURCES = sources_of_kind("statistics")


@task(outlets=[RAW_STATISTICS])
def ingest_source(source: str, *, outlet_events: Any = None) -> list[dict[str, Any]]:
    """Fetch the new data version of one statistics source into the raw layer; returns its summary."""
    return ingest_and_announce(source, RAW_STATISTICS, outlet_events)


@dag(
    dag_id="eduopen_ingest_statistics",
    schedule="30 2 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args(execution_timeout=timedelta(hours=1)),
    tags=["eduopen", "ingest", "statistics"],
    doc_md=__doc__,
)
def eduopen_ingest_statistics() -> None:
    [ingest_source.override(task_id=f"ingest_{source}")(source) for source in STATISTICS_SOURCES]


eduopen_ingest_statistics()
