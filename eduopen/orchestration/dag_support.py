"""What the EduOpen DAG files share: Asset URIs, the writer pool, default task arguments.

Every DAG file imports it at parse time, so it stays import-light: `airflow.sdk` and
`eduopen.core.config` (YAML and pydantic, which Airflow loads anyway), nothing that opens a socket or a DB.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, Param

from eduopen.core.config import TASK_RETRIES, TASK_RETRY_DELAY_S, Settings
from eduopen.orchestration.notifier import FailureAlert
from eduopen.orchestration.pools import WRITER_POOL

RAW_RELEASES = Asset("eduopen://raw/releases")
RAW_STATISTICS = Asset("eduopen://raw/statistics")


OWNER = "eduopen"
START_DATE = datetime(2025, 1, 1, tzinfo=UTC)

log = logging.getLogger("eduopen.airflow")


def sources_of_kind(kind: str) -> list[str]:
    """Enabled sources of `sources.yml` of one kind: adding a source there adds its task."""
    settings = Settings.load()
    return [name for name in settings.source_names() if settings.source(name).kind == kind]


def task_retries() -> int:
    """Retries per task; `EDUOPEN_TASK_RETRIES` lowers it where waiting for a retry helps nobody.

    The local `dags test` sets it to 0: a failed demo run should say why at once, not after the
    exponential backoff of the production retries.
    """
    return TASK_RETRIES.value()


# The writer pool's one slot goes to the highest priority first, ties to the older run. A
# warehouse build under way (its audit copy made) goes before any queued ingest or docs task, so
# its new data is published without waiting behind them. Its first task, prepare_audit, keeps the
# common priority (`warehouse_start_args`): the ingest tasks queued before it finish first, and one
# build takes in all they loaded rather than one build per source.
WAREHOUSE_PRIORITY = 10


def warehouse_start_args() -> dict[str, Any]:
    """The first task of a warehouse run queues like an ingest task (see `WAREHOUSE_PRIORITY`)."""
    return {"priority_weight": 1}


def default_args(*, execution_timeout: timedelta, priority_weight: int = 1) -> dict[str, Any]:
    """Retries, timeout, pool, priority and failure callback, declared once for every EduOpen task."""
    return {
        "owner": OWNER,
        "retries": task_retries(),
        "retry_delay": timedelta(seconds=TASK_RETRY_DELAY_S.value()),
        # A multiplier in Airflow 3.3: the delay (2 min unless set), twice it, ... capped below.
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": execution_timeout,
        "pool": WRITER_POOL,
        # Absolute: a task's place in the pool's queue is its DAG's, not its count of downstream tasks.
        "priority_weight": priority_weight,
        "weight_rule": "absolute",
        # Logs one line, then alerts whoever EDUOPEN_ALERT_* names (eduopen.orchestration.notifier).
        "on_failure_callback": FailureAlert(),
    }


@contextmanager
def fail_without_retry_on_permanent_errors() -> Iterator[None]:
    """A failed gate, a bad config, a refused publish or a stale source fail the task at once:
    retrying cannot help.

    Anything else (a source down, the writer lock held) is left to the declared retries.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from eduopen.core.errors import ConfigError, PublishError, ValidationFailed
    from eduopen.warehouse.freshness import StaleSources

    try:
        yield
    except (ConfigError, PublishError, ValidationFailed, StaleSources) as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def as_xcom(value: Any) -> Any:
    """JSON-safe copy of a step's summary (paths, dates become strings) so the UI shows it as XCom."""
    import json

    return json.loads(json.dumps(value, default=str))


def since_param() -> dict[str, Param]:
    """The ingest DAGs' `since` param: empty for the incremental run; a day (trigger with config)
    re-crawls history back to it, as `eduopen ingest SOURCE --since DAY` does."""
    return {
        "since": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Re-crawl history since",
            description="Empty: fetch what is new. A day (YYYY-MM-DD): re-crawl back to it for this run "
            "only (sources.yml unchanged; what is stored is not fetched again). Statistics use its year.",
        )
    }


def ingest_and_announce(
    source: str, asset: Asset, outlet_events: Any, *, since: str | None = None
) -> list[dict[str, Any]]:
    """Run one source (back to `since` when given) and attach its counts to the Asset event the
    warehouse DAG is waiting for."""
    from eduopen import pipeline
    from eduopen.orchestration.lineage import report_ingest

    with fail_without_retry_on_permanent_errors():
        summaries = as_xcom([summary.as_dict() for summary in pipeline.ingest([source], since=since)])
    report_ingest(source)
    if outlet_events is not None:
        counts = ("new_rows", "new_releases", "changed_releases", "quarantined")
        outlet_events[asset].extra = {
            "source": source,
            **{key: sum(int(s.get(key) or 0) for s in summaries) for key in counts},
        }
    return summaries


# -- event-driven scheduling: watcher Assets, cron as the fallback ------------------------------

WATCH_RELEASE_LISTINGS_URI = "eduopen://watch/release-listings"
WATCH_LANDING_URI = "eduopen://watch/landing"


def release_listings_watch(sources: Sequence[str]) -> Asset:
    """An Asset updated whenever a release listing's first page lists an item URL not seen before.

    Its watcher (`eduopen.orchestration.triggers.ReleaseListingTrigger`) polls the listings in the triggerer with
    conditional GETs every `EDUOPEN_WATCH_POLL_S` seconds (default 300).
    """
    from eduopen.orchestration.triggers import ReleaseListingTrigger
    from eduopen.orchestration.watch import DEFAULT_RELEASE_POLL_S, poll_interval_s

    poll_s = poll_interval_s(DEFAULT_RELEASE_POLL_S)
    trigger = ReleaseListingTrigger(sources=list(sources), poll_interval=poll_s)
    return Asset(
        name="eduopen_release_listings",
        uri=WATCH_RELEASE_LISTINGS_URI,
        watchers=[AssetWatcher(name="eduopen_release_listings", trigger=trigger)],
    )


def landing_folder_watch() -> Asset:
    """An Asset updated whenever a new file has settled in `$EDUOPEN_HOME/landing/`."""
    from eduopen.orchestration.triggers import LandingFolderTrigger
    from eduopen.orchestration.watch import DEFAULT_LANDING_POLL_S, poll_interval_s

    trigger = LandingFolderTrigger(poll_interval=poll_interval_s(DEFAULT_LANDING_POLL_S))
    return Asset(
        name="eduopen_landing_folder",
        uri=WATCH_LANDING_URI,
        watchers=[AssetWatcher(name="eduopen_landing_folder", trigger=trigger)],
    )


def watched_or_cron(watched: Asset, cron: str) -> AssetOrTimeSchedule:
    """Run on every event of the watcher Asset, and on `cron` (UTC) in case a watcher missed one."""
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=watched)


def ingest_and_announce_if_new(
    source: str, asset: Asset, outlet_events: Any, *, since: str | None = None
) -> list[dict[str, Any]]:
    """`ingest_and_announce`, but a run that stored nothing new ends *skipped*, emitting no Asset event.

    Airflow emits a task's outlet events whenever it succeeds; a skipped task emits none. So a
    no-change run (all 304s, an unchanged data version, an empty landing folder) never schedules
    the warehouse DAG, and the skip reason in the log says what was checked.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from eduopen.orchestration.watch import added_data

    summaries = ingest_and_announce(source, asset, outlet_events, since=since)
    if not added_data(summaries):
        checked = ", ".join(
            f"{s.get('requests') or 0} request(s), {s.get('not_modified') or 0} unchanged"
            + (f" ({s['skipped_reason']})" if s.get("skipped_reason") else "")
            for s in summaries
        )
        raise AirflowSkipException(f"{source}: nothing new ({checked or 'no summary'}); no {asset.uri} event")
    return summaries
