"""Expectation suites as reviewed JSON files -> Great Expectations `ExpectationSuite` objects.

A suite file (`expectations/suites/<schema>.<table>.json`) names its table, says whether the table
must exist in the audit warehouse (`required`), and lists expectations by their GX type name
(`expect_column_values_to_be_between`) with keyword arguments. The row-count check against the
published warehouse is declared (`row_count_vs_published`) but built at validation time, because
its bound depends on what analysts currently see.

An expectation may carry a `check` name (required for `unexpected_rows_expectation`, whose SQL says
nothing readable on its own): failures are reported as `suite: check(column)`. `severity` is GX's
(`critical` by default blocks publish; `warning` is reported and does not). String bounds of the
form `now`, `now-14d` or `now+1d` are resolved to UTC timestamps when the suite is built, for
freshness checks.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eduopen.core.config import MAX_ROW_DROP_PCT
from eduopen.core.errors import ConfigError
from eduopen.core.paths import EXPECTATIONS_DIR

SUITES_DIR = EXPECTATIONS_DIR / "suites"
DEFAULT_MAX_ROW_DROP_PCT = 50.0

_SUITE_KEYS = {
    "name",
    "version",
    "table",
    "required",
    "description",
    "row_count_vs_published",
    "max_row_drop_pct",
    "expectations",
}
_EXPECTATION_KEYS = {"type", "kwargs", "notes", "skip_if_empty", "check", "severity"}
# Suite names become GX asset names and, with the datasource, batch ids ("audit-marts.x"): no dashes.
_SUITE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_RELATIVE_TIME = re.compile(r"^now(?:(?P<sign>[+-])(?P<days>\d+)d)?$")
SEVERITIES = ("critical", "warning", "info")
ROW_COUNT_CHECK = "row_count_vs_published"
SQL_CHECK_TYPE = "unexpected_rows_expectation"


def quiet_gx() -> None:
    """Keep GX at WARNING: at INFO it logs its own import and every store and metric.

    Must run before `great_expectations` is first imported (the chatter starts at import time).
    """
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


quiet_gx()


@dataclass(frozen=True)
class ExpectationSpec:
    type: str
    kwargs: dict[str, Any]
    notes: str | None = None
    # Aggregate checks such as "max(first_seen_at) is recent" have no meaning on an empty table;
    # an emptied table is caught by the row-count check instead.
    skip_if_empty: bool = False
    check: str | None = None
    severity: str = "critical"

    @property
    def label(self) -> str:
        return self.check or self.type


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    version: int
    table: str
    required: bool
    path: Path
    description: str = ""
    row_count_vs_published: bool = True
    max_row_drop_pct: float | None = None
    expectations: tuple[ExpectationSpec, ...] = field(default_factory=tuple)

    @property
    def schema(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]


def class_name(expectation_type: str) -> str:
    """`expect_column_values_to_be_between` -> `ExpectColumnValuesToBeBetween`."""
    return "".join(part.capitalize() for part in expectation_type.split("_"))


def expectation_class(expectation_type: str) -> type:
    import great_expectations as gx

    cls = getattr(gx.expectations, class_name(expectation_type), None)
    if not isinstance(cls, type) or not issubclass(cls, gx.expectations.Expectation):
        raise ConfigError(
            f"unknown expectation type {expectation_type!r} (no gx.expectations."
            f"{class_name(expectation_type)}); check the spelling in the suite file"
        )
    return cls


def _parse(path: Path, check_types: bool = True) -> SuiteSpec:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a suite file holds one JSON object")
    unknown = set(data) - _SUITE_KEYS
    missing = {"name", "version", "table", "required", "expectations"} - set(data)
    if unknown or missing:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    if not isinstance(data["required"], bool):
        raise ConfigError(f"{path}: 'required' must be true or false")
    if data["table"].count(".") != 1:
        raise ConfigError(f"{path}: 'table' must be schema.table, got {data['table']!r}")
    if not _SUITE_NAME.match(data["name"]):
        raise ConfigError(f"{path}: suite name {data['name']!r} must look like schema.table (a-z, 0-9, _)")
    expectations = []
    for i, item in enumerate(data["expectations"]):
        if not isinstance(item, dict) or "type" not in item or set(item) - _EXPECTATION_KEYS:
            raise ConfigError(f"{path}: expectation #{i} needs 'type' and may have only {sorted(_EXPECTATION_KEYS)}")
        if check_types:
            expectation_class(item["type"])
        if item["type"] == SQL_CHECK_TYPE and not item.get("check"):
            raise ConfigError(f"{path}: expectation #{i} ({SQL_CHECK_TYPE}) needs a 'check' name")
        severity = item.get("severity", "critical")
        if severity not in SEVERITIES:
            raise ConfigError(f"{path}: expectation #{i}: severity must be one of {SEVERITIES}")
        expectations.append(
            ExpectationSpec(
                item["type"],
                dict(item.get("kwargs", {})),
                item.get("notes"),
                bool(item.get("skip_if_empty", False)),
                item.get("check"),
                severity,
            )
        )
    pct = data.get("max_row_drop_pct")
    return SuiteSpec(
        name=data["name"],
        version=int(data["version"]),
        table=data["table"],
        required=data["required"],
        path=path,
        description=data.get("description", ""),
        row_count_vs_published=bool(data.get("row_count_vs_published", True)),
        max_row_drop_pct=None if pct is None else float(pct),
        expectations=tuple(expectations),
    )


def load_suite_specs(suites_dir: Path | None = None, *, check_types: bool = True) -> list[SuiteSpec]:
    """Every `*.json` suite file in `suites_dir`, sorted by name; names must be unique.

    `check_types` resolves every expectation type to its GX class, which imports GX (seconds);
    the gate passes False and calls `check_expectation_types` once GX is loaded.
    """
    directory = suites_dir or SUITES_DIR
    specs = [_parse(path, check_types) for path in sorted(directory.glob("*.json"))]
    if not specs:
        raise ConfigError(f"no expectation suites (*.json) in {directory}")
    seen: dict[str, Path] = {}
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"suite {spec.name!r} defined twice: {seen[spec.name]} and {spec.path}")
        seen[spec.name] = spec.path
    return specs


def check_expectation_types(specs: list[SuiteSpec]) -> None:
    """`ConfigError` on the first expectation type GX does not know (a typo in a suite file)."""
    for spec in specs:
        for item in spec.expectations:
            try:
                expectation_class(item.type)
            except ConfigError as exc:
                raise ConfigError(f"{spec.path}: {exc}") from None


def resolve_max_row_drop_pct(spec: SuiteSpec, override: float | None = None) -> float:
    """Explicit override (CLI/caller) > the suite file > `EDUOPEN_MAX_ROW_DROP_PCT` > 50."""
    if override is not None:
        value = float(override)
    elif spec.max_row_drop_pct is not None:
        value = spec.max_row_drop_pct
    else:
        from_env = MAX_ROW_DROP_PCT.value()
        value = DEFAULT_MAX_ROW_DROP_PCT if from_env is None else from_env
    if not 0 <= value <= 100:
        raise ConfigError(f"maximum row drop must be within 0..100 percent, got {value:g}")
    return value


def min_rows_after_drop(published_rows: int, max_drop_pct: float) -> int:
    """Fewest rows allowed: a drop of more than `max_drop_pct` percent of the published rows blocks."""
    # Round the bound up in integer-safe steps: 10 rows at 50% allows 5, not 4.
    return math.ceil(published_rows * (100 - max_drop_pct) / 100 - 1e-9)


def resolve_relative_times(kwargs: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Replace string values `now`, `now-14d`, `now+1d` by ISO UTC timestamps (freshness bounds)."""
    anchor = now or datetime.now(UTC)
    resolved = {}
    for key, value in kwargs.items():
        match = _RELATIVE_TIME.match(value) if isinstance(value, str) else None
        if match:
            days = int(match["days"] or 0) * (-1 if match["sign"] == "-" else 1)
            value = (anchor + timedelta(days=days)).isoformat(timespec="seconds")
        resolved[key] = value
    return resolved


def row_count_query(table_rows_floor: int) -> str:
    """The row-count change check as SQL: one unexpected row when the table has too few rows."""
    return f"select count(*) as audit_rows from {{batch}} having count(*) < {int(table_rows_floor)}"


def build_suite(
    spec: SuiteSpec,
    *,
    rows: int,
    published_rows: int | None = None,
    max_row_drop_pct: float | None = None,
    annotations: dict[int, str] | None = None,
    now: datetime | None = None,
) -> tuple[Any, list[str]]:
    """The GX suite for `spec` on a table of `rows` rows; returns (suite, skipped expectation labels).

    `published_rows` is the table's row count in the published warehouse (None: not published yet).
    `annotations` adds a line to the notes of expectation #i (the gate's exact counts when GX sees
    an evidence batch). Every expectation's `meta` names its `check` and its `index` in the file.
    """
    import great_expectations as gx

    suite = gx.ExpectationSuite(
        name=spec.name, meta={"table": spec.table, "suite_version": spec.version, "source_file": spec.path.name}
    )
    skipped: list[str] = []
    for index, item in enumerate(spec.expectations):
        if item.skip_if_empty and rows == 0:
            skipped.append(item.label)
            continue
        notes = "\n\n".join(n for n in (item.notes, (annotations or {}).get(index)) if n)
        extra: dict[str, Any] = {"notes": notes} if notes else {}
        if item.severity != "critical":
            extra["severity"] = item.severity
        suite.add_expectation(
            expectation_class(item.type)(
                **resolve_relative_times(item.kwargs, now), meta={"check": item.label, "index": index}, **extra
            )
        )
    if spec.row_count_vs_published and published_rows:
        pct = resolve_max_row_drop_pct(spec, max_row_drop_pct)
        floor = min_rows_after_drop(published_rows, pct)
        # SQL rather than ExpectTableRowCountToBeBetween: a large table is validated on an evidence
        # batch (see validate.py), whose row count is not the table's; the query runs on the table.
        suite.add_expectation(
            gx.expectations.UnexpectedRowsExpectation(
                unexpected_rows_query=row_count_query(floor),
                description=(
                    f"Row-count change: the published warehouse has {published_rows} rows; a drop of "
                    f"more than {pct:g}% (below {floor} rows) blocks publish."
                ),
                meta={
                    "check": ROW_COUNT_CHECK,
                    "published_rows": published_rows,
                    "max_row_drop_pct": pct,
                    "min_rows": floor,
                },
            )
        )
    return suite, skipped
