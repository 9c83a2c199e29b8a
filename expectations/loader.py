"""Expectation suites as reviewed JSON files -> Great Expectations `ExpectationSuite` objects.

A suite file (`expectations/suites/<schema>.<table>.json`) is GX's own serialization of an
`ExpectationSuite` (`name`, `expectations` of `type` + `kwargs` + `meta`, suite `meta`, `notes`):
`great_expectations.ExpectationSuite(**json.load(f))` loads it. The gate's settings live in the
suite's `meta`: the `table` it validates, whether the table must exist in the audit warehouse
(`required`), `suite_version`, and the row-count check against the published warehouse
(`row_count_vs_published`, `max_row_drop_pct`), built at validation time because its bound
depends on what analysts currently see.

An expectation's `meta.check` names it in failure messages (`suite: check(column)`; required for
`unexpected_rows_expectation`, whose SQL says nothing readable on its own); `meta.skip_if_empty`
skips an aggregate check on an empty table. `severity` is GX's (`critical` blocks publish;
`warning` is reported and does not). Freshness bounds are GX suite parameters,
`{"$PARAMETER": "now() - timedelta(days=30)"}`, resolved to UTC timestamps when the suite is built.
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
# A table more than tripling since the last publish is worth a look (a duplicated load, a join
# fanning out) but may be real (a new source): it warns, it does not block.
DEFAULT_MAX_ROW_GROWTH_PCT = 200.0

# What GX writes for a suite and an expectation (`ExpectationSuite.to_json_dict()`).
_SUITE_KEYS = {"name", "id", "expectations", "meta", "notes", "suite_parameters"}
_EXPECTATION_KEYS = {"type", "kwargs", "meta", "notes", "description", "severity", "id", "rendered_content"}
_SUITE_META_KEYS = {
    "table",
    "suite_version",
    "required",
    "row_count_vs_published",
    "max_row_drop_pct",
    "max_row_growth_pct",
    "great_expectations_version",
}
_EXPECTATION_META_KEYS = {"check", "skip_if_empty"}
# Suite names become GX asset names and, with the datasource, batch ids ("audit-marts.x"): no dashes.
_SUITE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
# The one suite-parameter form the gate resolves itself: freshness bounds relative to the run.
_RELATIVE_TIME = re.compile(r"^now\(\)(?:\s*(?P<sign>[+-])\s*timedelta\(days=(?P<days>\d+)\))?$")
PARAMETER = "$PARAMETER"
SEVERITIES = ("critical", "warning", "info")
ROW_COUNT_CHECK = "row_count_vs_published"
ROW_GROWTH_CHECK = "row_count_growth_vs_published"
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
    description: str | None = None

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
    max_row_growth_pct: float = DEFAULT_MAX_ROW_GROWTH_PCT
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


def _parse_expectation(path: Path, i: int, item: Any, check_types: bool) -> ExpectationSpec:
    if not isinstance(item, dict) or "type" not in item or set(item) - _EXPECTATION_KEYS:
        raise ConfigError(f"{path}: expectation #{i} needs 'type' and may have only {sorted(_EXPECTATION_KEYS)}")
    item_meta = item.get("meta") or {}
    if set(item_meta) - _EXPECTATION_META_KEYS:
        raise ConfigError(f"{path}: expectation #{i}: meta may have only {sorted(_EXPECTATION_META_KEYS)}")
    if check_types:
        expectation_class(item["type"])
    if item["type"] == SQL_CHECK_TYPE and not item_meta.get("check"):
        raise ConfigError(f"{path}: expectation #{i} ({SQL_CHECK_TYPE}) needs a meta 'check' name")
    severity = item.get("severity") or "critical"
    if severity not in SEVERITIES:
        raise ConfigError(f"{path}: expectation #{i}: severity must be one of {SEVERITIES}")
    kwargs = dict(item.get("kwargs", {}))
    try:
        resolve_relative_times(kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{path}: expectation #{i}: {exc}") from None
    return ExpectationSpec(
        item["type"],
        kwargs,
        item.get("notes"),
        bool(item_meta.get("skip_if_empty", False)),
        item_meta.get("check"),
        severity,
        item.get("description"),
    )


def _parse(path: Path, check_types: bool = True) -> SuiteSpec:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a suite file holds one JSON object")
    unknown = set(data) - _SUITE_KEYS
    missing = {"name", "expectations", "meta"} - set(data)
    if unknown or missing:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    meta = data["meta"]
    if not isinstance(meta, dict) or set(meta) - _SUITE_META_KEYS or {"table", "required"} - set(meta):
        raise ConfigError(
            f"{path}: suite meta needs 'table' and 'required' and may have only {sorted(_SUITE_META_KEYS)}"
        )
    if not isinstance(meta["required"], bool):
        raise ConfigError(f"{path}: meta 'required' must be true or false")
    if meta["table"].count(".") != 1:
        raise ConfigError(f"{path}: meta 'table' must be schema.table, got {meta['table']!r}")
    if not _SUITE_NAME.match(data["name"]):
        raise ConfigError(f"{path}: suite name {data['name']!r} must look like schema.table (a-z, 0-9, _)")
    expectations = [_parse_expectation(path, i, item, check_types) for i, item in enumerate(data["expectations"])]
    if check_types:
        _check_loads_as_gx_suite(path, data)
    pct = meta.get("max_row_drop_pct")
    return SuiteSpec(
        name=data["name"],
        version=int(meta.get("suite_version", 1)),
        table=meta["table"],
        required=meta["required"],
        path=path,
        description=data.get("notes") or "",
        row_count_vs_published=bool(meta.get("row_count_vs_published", True)),
        max_row_drop_pct=None if pct is None else float(pct),
        max_row_growth_pct=float(meta.get("max_row_growth_pct", DEFAULT_MAX_ROW_GROWTH_PCT)),
        expectations=tuple(expectations),
    )


def _check_loads_as_gx_suite(path: Path, data: dict[str, Any]) -> None:
    """GX itself must load the file, every expectation of it (GX logs and drops an invalid one)."""
    import great_expectations as gx

    try:
        suite = gx.ExpectationSuite(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: GX cannot load the suite: {exc}") from exc
    if len(suite.expectations) != len(data["expectations"]):
        raise ConfigError(
            f"{path}: GX loads {len(suite.expectations)} of its {len(data['expectations'])} expectations; "
            "the others have invalid kwargs (GX's log names them)"
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
    """Replace suite parameters `{"$PARAMETER": "now() - timedelta(days=14)"}` by ISO UTC timestamps.

    The gate passes GX no suite parameters, so any other `$PARAMETER` is a `ConfigError`.
    """
    anchor = now or datetime.now(UTC)
    resolved = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and PARAMETER in value:
            match = _RELATIVE_TIME.match(str(value[PARAMETER]).strip())
            if not match or len(value) != 1:
                raise ConfigError(f"{key}: suite parameter {value!r} is not now() [+|- timedelta(days=N)]")
            days = int(match["days"] or 0) * (-1 if match["sign"] == "-" else 1)
            value = (anchor + timedelta(days=days)).isoformat(timespec="seconds")
        resolved[key] = value
    return resolved


def row_count_query(table_rows_floor: int) -> str:
    """The row-count change check as SQL: one unexpected row when the table has too few rows."""
    return f"select count(*) as audit_rows from {{batch}} having count(*) < {int(table_rows_floor)}"


def max_rows_after_growth(published_rows: int, max_growth_pct: float) -> int:
    """Most rows allowed before the growth check warns."""
    return math.floor(published_rows * (100 + max_growth_pct) / 100 + 1e-9)


def row_growth_query(table_rows_ceiling: int) -> str:
    """The row-count growth check as SQL: one unexpected row when the table has too many rows."""
    return f"select count(*) as audit_rows from {{batch}} having count(*) > {int(table_rows_ceiling)}"


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
        if item.description:
            extra["description"] = item.description
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
        ceiling = max_rows_after_growth(published_rows, spec.max_row_growth_pct)
        suite.add_expectation(
            gx.expectations.UnexpectedRowsExpectation(
                unexpected_rows_query=row_growth_query(ceiling),
                description=(
                    f"Row-count growth: the published warehouse has {published_rows} rows; more than "
                    f"{ceiling} (+{spec.max_row_growth_pct:g}%) warns: a duplicated load or a join fanning out?"
                ),
                severity="warning",
                meta={
                    "check": ROW_GROWTH_CHECK,
                    "severity": "warning",
                    "published_rows": published_rows,
                    "max_row_growth_pct": spec.max_row_growth_pct,
                    "max_rows": ceiling,
                },
            )
        )
    return suite, skipped
