"""
### EduOpen · ingest the landing folder

Loads the files analysts drop into `$EDUOPEN_HOME/landing/` (UIS data-browser or bulk CSV, World
Bank, OECD SDMX-CSV, OWID tables; format recognised from the content) into the raw layer, then
moves each file to `landing/processed/`, or to `landing/rejected/` with a `.reason.txt` beside it.

* **Schedule — event-driven**: on `eduopen://watch/landing`, whose AssetWatcher lists the folder
  in the triggerer every `EDUOPEN_WATCH_POLL_S` seconds (default 15) and fires once per file that
  has settled (not modified for `landing.settle_s`, same size on two polls; dotfiles, subfolders
  and symlinks ignored). **Hourly** as a fallback.
* **Emits** `eduopen://raw/statistics` only when a file added rows, which schedules
  **eduopen_warehouse**; a run that loaded nothing new ends *skipped* and emits nothing.
* **Writes** `raw/catalog.duckdb`: the task runs in the one-slot pool `eduopen_duckdb_writer`.

Same step outside Airflow: `eduopen ingest landing`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task

from eduopen.orchestration.dag_support import (
    RAW_STATISTICS,
    START_DATE,
    default_args,
    ingest_and_announce_if_new,
    landing_folder_watch,
    sources_of_kind,
    watched_or_cron,
)

LANDING_SOURCES = sources_of_kind("files")


@task(outlets=[RAW_STATISTICS])
def ingest_source(source: str, *, outlet_events: Any = None) -> list[dict[str, Any]]:
    """Load every settled file of the landing folder; skipped when none added rows."""
    return ingest_and_announce_if_new(source, RAW_STATISTICS, outlet_events)


@dag(
    dag_id="eduopen_ingest_landing",
    schedule=watched_or_cron(landing_folder_watch(), "15 * * * *"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args(execution_timeout=timedelta(minutes=30)),
    tags=["eduopen", "ingest", "landing"],
    doc_md=__doc__,
)
def eduopen_ingest_landing() -> None:
    [ingest_source.override(task_id=f"ingest_{source}")(source) for source in LANDING_SOURCES]


eduopen_ingest_landing()
