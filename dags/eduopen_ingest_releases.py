"""
### EduOpen · ingest policy releases

Fetches the policy releases of every `kind: releases` source in `ingest/sources.yml` (the
Ministry of Education's Chinese and English sites, the State Council's English site, the
configured feeds) into the raw layer: immutable raw bytes, the fetch log and the parsed
`release_version` rows. Incremental: each source resumes from its cursor.

* **Schedule — event-driven**: on `eduopen://watch/release-listings`, whose AssetWatcher polls the
  first page of every listing and feed in the triggerer (conditional GET, its own ETag /
  Last-Modified watermark, `EDUOPEN_WATCH_POLL_S` seconds apart, default 300) and fires when one
  lists an item URL it has not seen before. **Every 6 hours** (UTC) as a fallback, which also
  catches edited articles (a changed listing without a new URL does not fire the watcher).
* **Emits** `eduopen://raw/releases` (counts in the event's *extra*) only when a source stored
  new or changed releases; which schedules **eduopen_warehouse**. A source with nothing new ends
  *skipped* and emits nothing, so a no-change run triggers no transform.
* **Writes** `raw/catalog.duckdb`: every task runs in the one-slot pool `eduopen_duckdb_writer`.
* **Base URLs** come from `EDUOPEN_<SOURCE>_URL` when set (the replay server in tests and demo).
* **Param `since`** (trigger with config): re-crawl history back to that day for this run only,
  without editing `sources.yml`; empty (the default) is the incremental run.

Same step outside Airflow: `eduopen ingest moe_zh` (or any source name; `--since DAY` as the param).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task

from eduopen.orchestration.dag_support import (
    RAW_RELEASES,
    START_DATE,
    default_args,
    ingest_and_announce_if_new,
    release_listings_watch,
    since_param,
    sources_of_kind,
    watched_or_cron,
)

RELEASE_SOURCES = sources_of_kind("releases")


@task(outlets=[RAW_RELEASES])
def ingest_source(source: str, *, outlet_events: Any = None, params: Any = None) -> list[dict[str, Any]]:
    """Fetch new and changed releases of one source into the raw layer; skipped when there are none."""
    return ingest_and_announce_if_new(source, RAW_RELEASES, outlet_events, since=(params or {}).get("since"))


@dag(
    dag_id="eduopen_ingest_releases",
    schedule=watched_or_cron(release_listings_watch(RELEASE_SOURCES), "0 */6 * * *"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    default_args=default_args(execution_timeout=timedelta(hours=2)),
    params=since_param(),
    tags=["eduopen", "ingest", "releases"],
    doc_md=__doc__,
)
def eduopen_ingest_releases() -> None:
    [ingest_source.override(task_id=f"ingest_{source}")(source) for source in RELEASE_SOURCES]


eduopen_ingest_releases()
