"""Expectation suites as reviewed JSON files -> Great Expectations `ExpectationSuite` objects.

A suite file (`expectations/suites/<schema>.<table>.json`) names its table, says whether the table
must exist in the audit warehouse (`required`), and lists expectations by their GX type name
(`expect_column_values_to_be_between`) with keyword arguments. The row-count check against the
published warehouse is declared (`row_count_vs_published`) but built at validation time, because
its bound depends on what analysts currently see.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.config import EXPECTATIONS_DIR
from ingest.errors import ConfigError

SUITES_DIR = EXPECTATIONS_DIR / "suites"
DEFAULT_MAX_ROW_DROP_PCT = 50.0
MAX_ROW_DROP_ENV = "EDUOPEN_MAX_ROW_DROP_PCT"

_SUITE_KEYS = {"name", "version", "table", "required", "description", "row_count_vs_published",
               "max_row_drop_pct", "expectations"}
_EXPECTATION_KEYS = {"type", "kwargs", "notes", "skip_if_empty"}


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
        raise ConfigError(f"unknown expectation type {expectation_type!r} (no gx.expectations."
                          f"{class_name(expectation_type)}); check the spelling in the suite file")
    return cls


def _parse(path: Path) -> SuiteSpec:
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
    expectations = []
    for i, item in enumerate(data["expectations"]):
        if not isinstance(item, dict) or "type" not in item or set(item) - _EXPECTATION_KEYS:
            raise ConfigError(f"{path}: expectation #{i} needs 'type' and may have only "
                              f"{sorted(_EXPECTATION_KEYS)}")
        expectation_class(item["type"])
        expectations.append(ExpectationSpec(item["type"], dict(item.get("kwargs", {})),
                                            item.get("notes"), bool(item.get("skip_if_empty", False))))
    pct = data.get("max_row_drop_pct")
    return SuiteSpec(
        name=data["name"], version=int(data["version"]), table=data["table"], required=data["required"],
        path=path, description=data.get("description", ""),
        row_count_vs_published=bool(data.get("row_count_vs_published", True)),
        max_row_drop_pct=None if pct is None else float(pct), expectations=tuple(expectations),
    )


def load_suite_specs(suites_dir: Path | None = None) -> list[SuiteSpec]:
    """Every `*.json` suite file in `suites_dir`, sorted by name; names must be unique."""
    directory = suites_dir or SUITES_DIR
    specs = [_parse(path) for path in sorted(directory.glob("*.json"))]
    if not specs:
        raise ConfigError(f"no expectation suites (*.json) in {directory}")
    seen: dict[str, Path] = {}
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"suite {spec.name!r} defined twice: {seen[spec.name]} and {spec.path}")
        seen[spec.name] = spec.path
    return specs


def resolve_max_row_drop_pct(spec: SuiteSpec, override: float | None = None) -> float:
    """Explicit override (CLI/caller) > the suite file > `EDUOPEN_MAX_ROW_DROP_PCT` > 50."""
    if override is not None:
        value = float(override)
    elif spec.max_row_drop_pct is not None:
        value = spec.max_row_drop_pct
    elif os.environ.get(MAX_ROW_DROP_ENV):
        try:
            value = float(os.environ[MAX_ROW_DROP_ENV])
        except ValueError:
            raise ConfigError(f"{MAX_ROW_DROP_ENV} must be a number of percent") from None
    else:
        value = DEFAULT_MAX_ROW_DROP_PCT
    if not 0 <= value <= 100:
        raise ConfigError(f"maximum row drop must be within 0..100 percent, got {value:g}")
    return value


def min_rows_after_drop(published_rows: int, max_drop_pct: float) -> int:
    """Fewest rows allowed: a drop of more than `max_drop_pct` percent of the published rows blocks."""
    # Round the bound up in integer-safe steps: 10 rows at 50% allows 5, not 4.
    return math.ceil(published_rows * (100 - max_drop_pct) / 100 - 1e-9)


def build_suite(
    spec: SuiteSpec,
    *,
    rows: int,
    published_rows: int | None = None,
    max_row_drop_pct: float | None = None,
) -> tuple[Any, list[str]]:
    """The GX suite for `spec` on a table of `rows` rows; returns (suite, skipped expectation types).

    `published_rows` is the table's row count in the published warehouse (None: not published yet).
    """
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=spec.name, meta={"table": spec.table, "suite_version": spec.version,
                                                      "source_file": spec.path.name})
    skipped: list[str] = []
    for item in spec.expectations:
        if item.skip_if_empty and rows == 0:
            skipped.append(item.type)
            continue
        extra = {"notes": item.notes} if item.notes else {}
        suite.add_expectation(expectation_class(item.type)(**item.kwargs, **extra))
    if spec.row_count_vs_published and published_rows:
        pct = resolve_max_row_drop_pct(spec, max_row_drop_pct)
        suite.add_expectation(gx.expectations.ExpectTableRowCountToBeBetween(
            min_value=min_rows_after_drop(published_rows, pct),
            meta={"published_rows": published_rows, "max_row_drop_pct": pct},
            notes=(f"Row-count change: the published warehouse has {published_rows} rows; "
                   f"a drop of more than {pct:g}% blocks publish."),
        ))
    return suite, skipped
