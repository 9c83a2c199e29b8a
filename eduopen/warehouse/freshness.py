"""Source freshness: `dbt source freshness` on the published warehouse, as a typed report.

The raw sources declare how old their newest load may grow (`warn_after` / `error_after` in
dbt_project/models/staging/raw/_raw__sources.yml). They are checked on the PUBLISHED warehouse,
opened read-only (the `published` target of dbt_project/profiles.yml): what analysts read is what
is judged, and checking never changes the published bytes or holds analysts out. dbt keeps this
run's target/ and logs/ apart from the build's, so neither re-parses the project for the other.

`check_freshness` reports every checked source; `require_fresh` raises `StaleSources` naming the
stale ones with their last load, for a scheduler to fail a task on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eduopen.core.errors import EduOpenError, ExitCode
from eduopen.core.paths import Home
from eduopen.warehouse.dbt import common_args, dbt_dir, first_line, invoke_dbt

log = logging.getLogger("eduopen.freshness")

PUBLISHED_TARGET = "published"
STALE_STATUSES = ("warn", "error", "runtime error")


class FreshnessError(EduOpenError):
    """Source freshness could not be checked (no published warehouse, dbt could not run)."""


@dataclass(frozen=True)
class SourceFreshness:
    """One source table's freshness as dbt judged it."""

    source: str  # `raw.observation`
    status: str  # pass, warn, error or runtime error (the check itself failed)
    max_loaded_at: datetime | None
    snapshotted_at: datetime | None
    age_s: float | None
    warn_after: str | None
    error_after: str | None
    # The table declares a loaded_at_query: its "last load" is that query's answer, not a column's maximum.
    by_query: bool = False
    message: str | None = None

    @property
    def stale(self) -> bool:
        return self.status in STALE_STATUSES

    def describe(self) -> str:
        """`raw.release_version (warn): last loaded 2026-08-01 06:00 UTC, 128.0 days ago; warn after 14 days`."""
        if self.status == "runtime error":
            return f"{self.source} (runtime error): {self.message or 'the freshness query failed'}"
        if self.max_loaded_at is None:
            loaded = "never loaded"
        else:
            loaded = "last loaded " + self.max_loaded_at.strftime("%Y-%m-%d %H:%M UTC")
            loaded += " (by its loaded_at_query)" if self.by_query else ""
            loaded += f", {self.age_s / 86400:.1f} days ago" if self.age_s is not None else ""
        limits = "; ".join(
            f"{name} after {value}"
            for name, value in (("warn", self.warn_after), ("error", self.error_after))
            if value is not None
        )
        return f"{self.source} ({self.status}): {loaded}" + (f"; {limits}" if limits else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "max_loaded_at": self.max_loaded_at.isoformat() if self.max_loaded_at else None,
            "snapshotted_at": self.snapshotted_at.isoformat() if self.snapshotted_at else None,
            "age_s": self.age_s,
            "warn_after": self.warn_after,
            "error_after": self.error_after,
            "by_query": self.by_query,
            "message": self.message,
        }


@dataclass(frozen=True)
class FreshnessReport:
    warehouse: Path
    sources: tuple[SourceFreshness, ...]

    @property
    def stale(self) -> list[SourceFreshness]:
        return [item for item in self.sources if item.stale]

    @property
    def warned(self) -> list[SourceFreshness]:
        return [item for item in self.sources if item.status == "warn"]

    @property
    def errored(self) -> list[SourceFreshness]:
        return [item for item in self.sources if item.status in ("error", "runtime error")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "warehouse": str(self.warehouse),
            "stale": [item.source for item in self.stale],
            "sources": [item.as_dict() for item in self.sources],
        }


class StaleSources(FreshnessError):
    """At least one source's newest load is older than its declared freshness allows."""

    exit_code = ExitCode.SOURCES_STALE

    def __init__(self, report: FreshnessReport):
        stale = report.stale
        noun = "source is" if len(stale) == 1 else "sources are"
        super().__init__(
            f"{len(stale)} {noun} stale in {report.warehouse}: " + "; ".join(item.describe() for item in stale)
        )
        self.report = report


def check_freshness(home: Home | None = None) -> FreshnessReport:
    """Run `dbt source freshness` on the published warehouse and report every source it checked."""
    home = home or Home.from_env()
    if not home.warehouse.exists():
        raise FreshnessError(f"no published warehouse at {home.warehouse}: nothing to check yet")
    args = ["source", "freshness", *common_args(home, work_dir=dbt_dir(home) / "freshness")]
    args += ["--target", PUBLISHED_TARGET]
    try:
        results = invoke_dbt(args, db_path=home.warehouse, home=home)
    except EduOpenError as exc:
        raise FreshnessError(f"source freshness could not run: {exc}") from exc
    report = FreshnessReport(home.warehouse, tuple(sorted((_read(r) for r in results), key=lambda s: s.source)))
    for item in report.stale:
        log.warning("stale source: %s", item.describe())
    return report


def require_fresh(home: Home | None = None) -> FreshnessReport:
    """`check_freshness`, raising `StaleSources` when any source warns or errors."""
    report = check_freshness(home)
    if report.stale:
        raise StaleSources(report)
    return report


def _read(result: Any) -> SourceFreshness:
    node = result.node
    criteria = getattr(node, "freshness", None)
    status = str(result.status)
    loaded_at = _utc(getattr(result, "max_loaded_at", None))
    # dbt answers an empty table with datetime.min.
    never = loaded_at is None or loaded_at.year <= 1
    return SourceFreshness(
        source=f"{node.source_name}.{node.name}",
        status=status,
        max_loaded_at=None if never else loaded_at,
        snapshotted_at=_utc(getattr(result, "snapshotted_at", None)),
        age_s=None if never else getattr(result, "age", None),
        warn_after=_period(getattr(criteria, "warn_after", None)),
        error_after=_period(getattr(criteria, "error_after", None)),
        by_query=bool(getattr(node, "loaded_at_query", None)),
        message=first_line(result.message) if status == "runtime error" else None,
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _period(time: Any) -> str | None:
    """dbt's `{count: 14, period: day}` as `14 days`; None when that limit is not declared."""
    count, period = getattr(time, "count", None), getattr(time, "period", None)
    if count is None or period is None:
        return None
    unit = str(getattr(period, "value", period))
    return f"{count} {unit}{'' if count == 1 else 's'}"
