"""
### EduOpen · ingest policy releases

Fetches the policy releases of every `kind: releases` source in `ingest/sources.yml` (today the
Ministry of Education's Chinese site, `moe_zh`) into the raw layer: immutable raw bytes, the
fetch log and the parsed `release_version` rows. Incremental: each source resumes from its cursor.

* **Emits** `eduopen://raw/releases` on success (counts in the event's *extra*), which
  schedules **eduopen_warehouse**.
* **Schedule**: every 6 hours as a fallback; trigger it by hand for an immediate fetch.
* **Writes** `raw/catalog.duckdb`: every task runs in the one-slot pool `eduopen_duckdb_writer`.
* **Base URLs** come from `EDUOPEN_<SOURCE>_URL` when set (the replay server in tests and demo).

Same step outside Airflow: `eduopen ingest moe_zh`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from _eduopen_common import (
    RAW_RELEASES,
    START_DATE,
    default_args,
    ingest_and_announce,
    sources_of_kind,
)
from airflow.sdk import dag, task

RELEASE_SOURCES = sources_of_kind("releases")


@task(outlets=[RAW_RELEASES])
def ingest_source(source: str, *, outlet_events: Any = None) -> list[dict[str, Any]]:
    """Fetch new and changed releases of one source into the raw layer; returns its summary."""
    return ingest_and_announce(source, RAW_RELEASES, outlet_events)


@dag(
    dag_id="eduopen_ingest_releases",
    schedule="0 */6 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    default_args=default_args(execution_timeout=timedelta(hours=2)),
    tags=["eduopen", "ingest", "releases"],
    doc_md=__doc__,
)
def eduopen_ingest_releases() -> None:
    [ingest_source.override(task_id=f"ingest_{source}")(source) for source in RELEASE_SOURCES]


eduopen_ingest_releases()
