"""The pipeline steps as plain functions: what the CLI and the Airflow tasks call.

ingest -> transform (dbt into the audit copy) -> validate (GX gate) -> publish (atomic swap).

This module is the only place that takes the home's writer lock: each public step that writes
holds it, and the Airflow tasks that run part of a step (the audit copy, one dbt node) take it
through `writer` or `hold_writer`. The functions below the steps (warehouse, gate, publish)
assume their caller holds it. The lock is re-entrant within one thread (`eduopen.core.locking`),
so `run_pipeline` holds it around the steps, which take it again.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Hashable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date
from typing import Any

from eduopen.core.config import Settings, check_env
from eduopen.core.errors import ConfigError, DiskFull, EduOpenError, SourceError, is_disk_full
from eduopen.core.locking import writer_lock
from eduopen.core.paths import Home
from ingest.progress import NO_PROGRESS, IngestProgress
from ingest.sources.base import IngestSummary

log = logging.getLogger("eduopen.pipeline")
# How long a step waits for another run to give the lock back before it gives up with LockHeld.
WRITER_WAIT_S = 600.0
# Locks taken by `hold_writer` and not given back yet, by owner.
_held_writers: dict[Hashable, ExitStack] = {}


@contextmanager
def writer(home: Home, *, wait_s: float | None = None) -> Iterator[None]:
    """Hold the home's writer lock for the block; waits up to `wait_s` (default `WRITER_WAIT_S`)
    for another run, then raises LockHeld."""
    with writer_lock(home.ensure(), wait_s=WRITER_WAIT_S if wait_s is None else wait_s):
        yield


# What a step that ran out of space leaves behind, for the DiskFull message.
KEPT_WHEN_FULL = {
    "ingest": "every page and row stored before it ran out is kept; the next ingest fetches the rest",
    "transform": "the published warehouse is unchanged",
    "validate": "the published warehouse is unchanged",
    "publish": "the published warehouse is a whole validated version, as before unless the swap was done",
}


@contextmanager
def disk_full_is_typed(home: Home, step: str) -> Iterator[None]:
    """Turn the disk running out of space inside `step` into `DiskFull`, which says what was kept.

    Otherwise an OSError (or DuckDB's error for a failed write) would end the step as a bug, exit 70.
    """
    try:
        yield
    except EduOpenError:
        raise
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        free = shutil.disk_usage(home.root).free if home.root.exists() else 0
        raise DiskFull(
            f"{step}: no space left on the disk holding {home.root} ({free / 2**20:.1f} MiB free now): "
            f"{KEPT_WHEN_FULL[step]}. Free space, then run {step} again ({type(exc).__name__}: {exc})"
        ) from exc


def hold_writer(home: Home, owner: Hashable) -> None:
    """Take the writer lock until `release_writer(owner)`, for work that starts and ends in two
    separate calls (an Airflow task's pre_execute and post_execute) rather than inside a block.

    If `release_writer` never comes, the lock goes when the process ends (the kernel drops it).
    """
    stack = ExitStack()
    stack.enter_context(writer(home))
    _held_writers[owner] = stack


def release_writer(owner: Hashable) -> None:
    """Give back the lock `hold_writer(…, owner)` took; nothing if it holds none."""
    stack = _held_writers.pop(owner, None)
    if stack is not None:
        stack.close()


def resolve_sources(names: Sequence[str], settings: Settings) -> list[str]:
    if not names or list(names) == ["all"]:
        return settings.source_names()
    for name in names:
        settings.source(name)  # raises ConfigError naming the known sources
    return list(names)


def since_date(value: date | str | None) -> date | None:
    """The day `--since` (or the ingest DAGs' `since` param) names; ConfigError if it names none."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"since: {value!r} is not a date (YYYY-MM-DD)") from None


def check_since(names: Sequence[str], since: date) -> None:
    """ConfigError when `since` is still to come, or naming the sources that cannot re-crawl history."""
    from ingest.sources import source

    if since > date.today():
        raise ConfigError(f"since {since}: a day still to come has no history to re-crawl")
    refused = [name for name in names if not source(name).supports_since]
    if refused:
        raise ConfigError(
            f"since {since}: {', '.join(refused)} cannot re-crawl history (it reads what is dropped in, "
            "it does not fetch); name the sources to re-crawl"
        )


def ingest(
    sources: Sequence[str] = ("all",),
    home: Home | None = None,
    *,
    since: date | str | None = None,
    progress: IngestProgress = NO_PROGRESS,
) -> list[IngestSummary]:
    """Run each source once. Every source runs even if one fails; then the failures are raised.

    `since` re-crawls history back to that day for this run only, past each source's cursor,
    horizon and page limit (see `SourceContext.since`). Each source's start and end, and every
    page its client fetches, are reported to `progress`.
    """
    from ingest.http import PoliteClient
    from ingest.raw_store import RawStore
    from ingest.sources import check_settings, runner
    from ingest.sources.base import SourceContext

    home = home or Home.from_env()
    settings = Settings.load()
    check_settings(settings)
    check_env(settings.source_names())
    names = resolve_sources(sources, settings)
    since = since_date(since)
    if since is not None:
        check_since(names, since)
    summaries: list[IngestSummary] = []
    failures: list[str] = []
    with writer(home), disk_full_is_typed(home, "ingest"), RawStore(home) as store:
        for name in names:
            cfg = settings.source(name)
            client = None if cfg.kind == "files" else PoliteClient.for_source(cfg, store, progress=progress)
            started = time.monotonic()
            progress.source_started(name)
            try:
                summary = runner(name)(SourceContext(cfg, store, client, home, since=since))
            except EduOpenError as exc:
                log.error("source %s failed: %s", name, exc)
                failures.append(f"{name}: {exc}")
                progress.source_finished(name, error=str(exc))
                continue
            log.info("source %s: %s (%.1fs)", name, summary.as_dict(), time.monotonic() - started)
            progress.source_finished(name)
            summaries.append(summary)
    if failures:
        raise SourceError(f"{len(failures)} of {len(names)} sources failed — " + " | ".join(failures))
    return summaries


def transform(full_refresh: bool = False, home: Home | None = None) -> dict[str, Any]:
    """Build the audit warehouse with dbt (seed + build), starting from the published one."""
    from eduopen.warehouse.build import transform as run_transform

    home = home or Home.from_env()
    with writer(home), disk_full_is_typed(home, "transform"):
        return run_transform(home, full_refresh=full_refresh)


def prepare_audit(home: Home | None = None) -> dict[str, int]:
    """The first half of `transform`: the audit copy with fresh raw tables; returns rows per raw table."""
    from eduopen.warehouse.audit import prepare_audit as prepare

    home = home or Home.from_env()
    with writer(home), disk_full_is_typed(home, "transform"):
        return prepare(home)


def build_audit(full_refresh: bool = False, home: Home | None = None) -> dict[str, Any]:
    """The second half of `transform`: `dbt build` into the audit copy `prepare_audit` made."""
    from eduopen.warehouse.build import run_dbt

    home = home or Home.from_env()
    with writer(home), disk_full_is_typed(home, "transform"):
        return run_dbt(home, full_refresh=full_refresh)


def validate(home: Home | None = None) -> dict[str, Any]:
    """Run the Great Expectations checkpoint on the audit warehouse; raises ValidationFailed."""
    from expectations.validate import validate as run_validate

    home = home or Home.from_env()
    with writer(home), disk_full_is_typed(home, "validate"):
        return run_validate(home)


def publish(rollback: bool = False, home: Home | None = None) -> dict[str, Any]:
    """Swap the validated audit build into the published warehouse (or roll back one version)."""
    from eduopen.publish import publish as run_publish

    home = home or Home.from_env()
    with writer(home), disk_full_is_typed(home, "publish"):
        return run_publish(home, rollback=rollback)


def data_docs(home: Home | None = None) -> str:
    """The quality gate's Data Docs, rendered from the validation results it stored; returns the index."""
    from expectations.data_docs import build

    return str(build(home or Home.from_env()))


def docs(home: Home | None = None) -> dict[str, Any]:
    """After a publish: dbt docs and the HTML report from the published warehouse, and the gate's Data Docs.

    Read-only on the warehouse, so it needs no writer lock and never blocks the next build.
    """
    from eduopen.report.html import build_report
    from eduopen.warehouse.docs import generate_docs

    home = home or Home.from_env()
    started = time.monotonic()
    return {
        "dbt_docs": str(generate_docs(home)),
        "report": str(build_report(home)),
        "data_docs": data_docs(home),
        "seconds": round(time.monotonic() - started, 3),
    }


def run_pipeline(
    sources: Sequence[str] = ("all",),
    home: Home | None = None,
    full_refresh: bool = False,
    *,
    progress: IngestProgress = NO_PROGRESS,
) -> dict[str, Any]:
    """ingest -> transform -> validate -> publish -> docs, under one writer lock; the ingest
    reports to `progress`."""
    from ingest.sources import check_settings

    # A misspelt key or a bad variable stops the run before the lock is taken.
    settings = Settings.load()
    check_settings(settings)
    check_env(settings.source_names())
    home = home or Home.from_env()
    timings: dict[str, float] = {}
    result: dict[str, Any] = {}
    with writer(home):
        for step, call in (
            ("ingest", lambda: [s.as_dict() for s in ingest(sources, home, progress=progress)]),
            ("transform", lambda: transform(full_refresh, home)),
            ("validate", lambda: validate(home)),
            ("publish", lambda: publish(False, home)),
            ("docs", lambda: docs(home)),
        ):
            started = time.monotonic()
            result[step] = call()
            timings[step] = round(time.monotonic() - started, 3)
    result["seconds"] = timings
    return result
