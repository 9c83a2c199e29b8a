"""The pipeline steps as plain functions: what the CLI and the Airflow tasks call.

ingest -> transform (dbt into the audit copy) -> validate (GX gate) -> publish (atomic swap).
Each public step takes the EduOpen writer lock, so two runs never write the same DuckDB file;
the lock is re-entrant within one process so `run_pipeline` can call the steps in turn.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eduopen.core.config import Settings, check_env
from eduopen.core.errors import EduOpenError, SourceError
from eduopen.core.paths import Home
from ingest.sources.base import IngestSummary

log = logging.getLogger("eduopen.pipeline")
_lock_depth = threading.local()


@contextmanager
def writer(home: Home, *, wait_s: float = 600) -> Iterator[None]:
    """Hold the home's writer lock (re-entrant in this process). Waits up to `wait_s` for another run."""
    from eduopen.core.locking import writer_lock

    depth = getattr(_lock_depth, "value", 0)
    if depth:
        _lock_depth.value = depth + 1
        try:
            yield
        finally:
            _lock_depth.value -= 1
        return
    with writer_lock(home.ensure(), wait_s=wait_s):
        _lock_depth.value = 1
        try:
            yield
        finally:
            _lock_depth.value = 0


def resolve_sources(names: Sequence[str], settings: Settings) -> list[str]:
    if not names or list(names) == ["all"]:
        return settings.source_names()
    for name in names:
        settings.source(name)  # raises ConfigError naming the known sources
    return list(names)


def ingest(sources: Sequence[str] = ("all",), home: Home | None = None) -> list[IngestSummary]:
    """Run each source once. Every source runs even if one fails; then the failures are raised."""
    from ingest.http import PoliteClient
    from ingest.raw_store import RawStore
    from ingest.sources import check_settings, runner
    from ingest.sources.base import SourceContext

    home = home or Home.from_env()
    settings = Settings.load()
    check_settings(settings)
    check_env(settings.source_names())
    names = resolve_sources(sources, settings)
    summaries: list[IngestSummary] = []
    failures: list[str] = []
    with writer(home), RawStore(home) as store:
        for name in names:
            cfg = settings.source(name)
            client = None if cfg.kind == "files" else PoliteClient.for_source(cfg, store)
            started = time.monotonic()
            try:
                summary = runner(name)(SourceContext(cfg, store, client, home))
            except EduOpenError as exc:
                log.error("source %s failed: %s", name, exc)
                failures.append(f"{name}: {exc}")
                continue
            log.info("source %s: %s (%.1fs)", name, summary.as_dict(), time.monotonic() - started)
            summaries.append(summary)
    if failures:
        raise SourceError(f"{len(failures)} of {len(names)} sources failed — " + " | ".join(failures))
    return summaries


def transform(full_refresh: bool = False, home: Home | None = None) -> dict[str, Any]:
    """Build the audit warehouse with dbt (seed + build), starting from the published one."""
    from eduopen.warehouse.build import transform as run_transform

    home = home or Home.from_env()
    with writer(home):
        return run_transform(home, full_refresh=full_refresh)


def validate(home: Home | None = None) -> dict[str, Any]:
    """Run the Great Expectations checkpoint on the audit warehouse; raises ValidationFailed."""
    from expectations.validate import validate as run_validate

    home = home or Home.from_env()
    with writer(home):
        return run_validate(home)


def publish(rollback: bool = False, home: Home | None = None) -> dict[str, Any]:
    """Swap the validated audit build into the published warehouse (or roll back one version)."""
    from eduopen.publish import publish as run_publish

    home = home or Home.from_env()
    with writer(home):
        return run_publish(home, rollback=rollback)


def docs(home: Home | None = None) -> dict[str, Any]:
    """After a publish: dbt docs and the HTML report, both from the published warehouse.

    Read-only on the warehouse, so it needs no writer lock and never blocks the next build.
    """
    from eduopen.report.html import build_report
    from eduopen.warehouse.build import generate_docs

    home = home or Home.from_env()
    started = time.monotonic()
    return {
        "dbt_docs": str(generate_docs(home)),
        "report": str(build_report(home)),
        "seconds": round(time.monotonic() - started, 3),
    }


def run_pipeline(
    sources: Sequence[str] = ("all",), home: Home | None = None, full_refresh: bool = False
) -> dict[str, Any]:
    """ingest -> transform -> validate -> publish -> docs, under one writer lock."""
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
            ("ingest", lambda: [s.as_dict() for s in ingest(sources, home)]),
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
