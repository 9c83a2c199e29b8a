"""
### EduOpen · ingest statistics

Fetches the statistics of every `kind: statistics` source in `ingest/sources.yml` (UNESCO UIS
Data API, World Bank API, OECD SDMX: international student mobility and context indicators) into
the raw layer. Each source's data version is its cursor: an unchanged version costs a request or
two and adds nothing.

* **Schedule — daily at 02:30 UTC, no watcher**: these publishers release new data versions a
  few times a year, so a day of delay is small against that, while a poller would spend the
  OECD's 60-downloads-an-hour budget for nothing. Policy releases, which
  do change daily, have a watcher (**eduopen_ingest_releases**).
* **Emits** `eduopen://raw/statistics` (counts in the event's *extra*) only when a source stored
  new rows, which schedules **eduopen_warehouse**; a source with nothing new ends *skipped* and
  emits nothing, so a no-change run triggers no transform.
* **Writes** `raw/catalog.duckdb`: every task runs in the one-slot pool `eduopen_duckdb_writer`.
* **Base URLs** from `EDUOPEN_<SOURCE>_URL` when set (the replay server in tests and demo).
* **Param `since`** (trigger with config): fetch every indicator again from that day's year on,
  whatever the data version, for this run only; empty (the default) is the incremental run.

Same step outside Airflow: `eduopen ingest uis` (or any source name; `--since DAY` as the param).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import CronTriggerTimetable, dag, task

from eduopen.orchestration.dag_support import (
    RAW_STATISTICS,
    START_DATE,
    default_args,
    ingest_and_announce_if_new,
    since_param,
    sources_of_kind,
)

STATISTICS_SOURCES = sources_of_kind("statistics")


@task(outlets=[RAW_STATISTICS])
def ingest_source(source: str, *, outlet_events: Any = None, params: Any = None) -> list[dict[str, Any]]:
    """Fetch the new data version of one statistics source into the raw layer; skipped when unchanged."""
    return ingest_and_announce_if_new(source, RAW_STATISTICS, outlet_events, since=(params or {}).get("since"))


@dag(
    dag_id="eduopen_ingest_statistics",
    schedule=CronTriggerTimetable("30 2 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args(execution_timeout=timedelta(hours=1)),
    params=since_param(),
    tags=["eduopen", "ingest", "statistics"],
    doc_md=__doc__,
)
def eduopen_ingest_statistics() -> None:
    [ingest_source.override(task_id=f"ingest_{source}")(source) for source in STATISTICS_SOURCES]


eduopen_ingest_statistics()
