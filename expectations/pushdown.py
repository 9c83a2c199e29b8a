"""Push the row scanning of a suite down into DuckDB; GX validates an *evidence batch*.

Loading a 10-million-row table into pandas for GX costs more than building it. For a large table
the gate therefore asks DuckDB, in a few scans, which rows each expectation would flag and how
many there are, and hands GX only the *evidence*: every flagged row (up to `EVIDENCE_PER_CHECK`
per expectation), the rows holding each checked column's minimum and maximum, and a small uniform
sample. GX then runs the suite's real expectations on that batch, and Data Docs show them.

The evidence is a subset of the table's rows, so GX flags nothing the table does not contain
(no false alarm: a duplicate in the subset is a duplicate in the table; a min/max of the subset
is bounded by the table's, and equal to it because the extreme rows are in). And it flags
everything the table contains, as long as each SQL predicate below matches GX's pandas semantics:
nulls skipped by value checks, `str.contains` (search) for regexes, NaN validated as +Infinity,
rows whose key columns are all missing ignored by compound uniqueness. The exact unexpected count
of the whole table comes from SQL and replaces the batch's counts in GX's result (validate.py).

Only expectations with a translation here can be reduced; a suite with any other expectation (or
with `mostly`, or a `row_condition`) is validated on the whole table, as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from expectations.loader import SQL_CHECK_TYPE, ExpectationSpec, SuiteSpec

EVIDENCE_PER_CHECK = 200
SAMPLE_ROWS = 1000
SAMPLE_SEED = 20260801

# Checks GX answers from the columns alone (schema) or by SQL on the whole table.
_NO_ROWS_NEEDED = {
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_column_to_exist",
    "expect_table_column_count_to_equal",
    SQL_CHECK_TYPE,
}
_NULL_CHECKS = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
_EXTREMES = {"expect_column_max_to_be_between": "desc", "expect_column_min_to_be_between": "asc"}
_DUPLICATES = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
_ROW_PREDICATES = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_value_lengths_to_be_between",
}
# Not expect_column_values_to_not_match_regex: RE2 (DuckDB) matches a subset of what Python's re
# matches (`\d`, `\w` are ASCII in RE2; an unanchored-pattern `$` in Python also matches before a
# final newline). For match_regex that makes SQL flag at most a superset of GX's rows (safe: GX
# decides on the evidence, only the reported count could be high); for not_match_regex SQL could
# miss a row GX would flag, so a suite using it is validated whole.


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(value: Any, sql_type: str) -> str:
    """A bound or set member as a SQL literal of the column's (snapshot) type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return f"'{value}'::double"
        return repr(value)
    if isinstance(value, str):
        return f"cast({sql_string(value)} as {sql_type})"
    raise ValueError(f"unsupported literal {value!r}")


@dataclass(frozen=True)
class Probe:
    """How DuckDB finds the rows expectation #index of a suite would flag."""

    index: int
    kind: str  # "rows" (a predicate per row), "duplicates" (key columns), "extreme" (argmin/argmax)
    predicate: str | None = None
    keys: tuple[str, ...] = ()
    ignore_row_if: str = "all_values_are_missing"
    order: str | None = None
    # Rows GX leaves out of a map expectation's domain (its `missing_count`); None: it reports none.
    missing: str | None = None


@dataclass(frozen=True)
class Plan:
    probes: tuple[Probe, ...]


def _anchored_body(regex: str) -> str | None:
    """`X` of a regex `^X$` whose anchors bind the whole pattern (no `|`, no other anchor), else None."""
    if len(regex) < 2 or not regex.startswith("^") or not regex.endswith("$") or regex.endswith("\\$"):
        return None
    body = regex[1:-1]
    if "|" in body or "$" in body or "^" in body.replace("[^", ""):
        return None
    return body


def _row_predicate(item: ExpectationSpec, types: dict[str, str]) -> str:
    kw = item.kwargs
    column = kw["column"]
    col = quote(column)
    sql_type = types[column]
    kind = item.type
    if kind == "expect_column_values_to_not_be_null":
        return f"{col} is null"
    if kind == "expect_column_values_to_be_null":
        return f"{col} is not null"
    if kind in ("expect_column_values_to_be_between", "expect_column_value_lengths_to_be_between"):
        value = f"length(cast({col} as varchar))" if kind.endswith("lengths_to_be_between") else col
        bound_type = "bigint" if kind.endswith("lengths_to_be_between") else sql_type
        low, high = kw.get("min_value"), kw.get("max_value")
        if low is None and high is None:
            raise ValueError("between needs min_value or max_value")
        outside = []
        if low is not None:
            outside.append(f"{value} {'<=' if kw.get('strict_min') else '<'} {_literal(low, bound_type)}")
        if high is not None:
            outside.append(f"{value} {'>=' if kw.get('strict_max') else '>'} {_literal(high, bound_type)}")
        return f"{col} is not null and ({' or '.join(outside)})"
    if kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        members = ", ".join(_literal(v, sql_type) for v in kw["value_set"]) or "null"
        negate = "not " if kind == "expect_column_values_to_be_in_set" else ""
        return f"{col} is not null and {negate}coalesce({col} in ({members}), false)"
    if kind == "expect_column_values_to_match_regex":
        regex = kw["regex"]
        inner = _anchored_body(regex)
        if inner is not None:
            # Searching `^X$` is fully matching `X` followed by an optional final newline (where
            # Python's `$` also matches); DuckDB runs a full match ~10x faster than a search.
            full = f"(?:{inner})\\n?"
            return f"{col} is not null and not regexp_full_match(cast({col} as varchar), {sql_string(full)})"
        # GX's pandas engine uses str.contains: a search, not a full match; so does regexp_matches.
        return f"{col} is not null and not regexp_matches(cast({col} as varchar), {sql_string(regex)})"
    raise ValueError(f"no SQL translation of {kind}")


def plan(spec: SuiteSpec, types: dict[str, str]) -> tuple[Plan | None, str | None]:
    """The probes for `spec` on a table with column `types`, or (None, why not) if not reducible."""
    probes = []
    for index, item in enumerate(spec.expectations):
        kw = item.kwargs
        if kw.get("mostly", 1) != 1:
            return None, f"{item.label} uses mostly"
        if kw.get("row_condition"):
            return None, f"{item.label} uses row_condition"
        for column in [kw.get("column"), *(kw.get("column_list") or [])]:
            if column is not None and column not in types:
                # GX reports the missing column itself; a whole-table batch lets it say so.
                return None, f"{item.label}: no column {column!r}"
        if item.type in _NO_ROWS_NEEDED:
            continue
        if item.type in _EXTREMES:
            probes.append(Probe(index, "extreme", keys=(kw["column"],), order=_EXTREMES[item.type]))
        elif item.type in _DUPLICATES:
            keys = tuple(kw["column_list"]) if "column_list" in kw else (kw["column"],)
            # Single-column uniqueness skips nulls like every column-map expectation.
            ignore = (
                kw.get("ignore_row_if", "all_values_are_missing") if "column_list" in kw else "any_value_is_missing"
            )
            probe = Probe(index, "duplicates", keys=keys, ignore_row_if=ignore)
            probes.append(replace(probe, missing=f"not ({_key_filter(probe)})"))
        elif item.type in _ROW_PREDICATES:
            try:
                predicate = _row_predicate(item, types)
            except (ValueError, KeyError) as exc:
                return None, f"{item.label}: {exc}"
            missing = None if item.type in _NULL_CHECKS else f"{quote(kw['column'])} is null"
            probes.append(Probe(index, "rows", predicate=predicate, missing=missing))
        else:
            return None, f"{item.type} has no SQL translation"
    return Plan(tuple(probes)), None


def _key_filter(probe: Probe) -> str:
    nulls = [f"{quote(k)} is null" for k in probe.keys]
    if probe.ignore_row_if == "all_values_are_missing":
        return f"not ({' and '.join(nulls)})"
    if probe.ignore_row_if == "any_value_is_missing":
        return f"not ({' or '.join(nulls)})"
    return "true"


@dataclass(frozen=True)
class Evidence:
    """What the probes found in the whole table: the rows GX is shown, and the exact counts."""

    picks: str  # SQL selecting the rowids of the evidence batch
    unexpected: dict[int, int]  # expectation index -> unexpected rows in the whole table
    missing: dict[int, int]  # expectation index -> rows outside its domain (nulls), whole table
    rows: int


def collect_evidence(con: Any, source: str, plan_: Plan) -> Evidence:
    """Run the probes against `source` (a SQL relation with a `_rid` column)."""
    row_probes = [p for p in plan_.probes if p.kind == "rows"]
    with_missing = [p for p in plan_.probes if p.missing]
    aggregates = (
        ["count(*)"]
        + [f"count(*) filter (where {p.predicate})" for p in row_probes]
        + [f"count(*) filter (where {p.missing})" for p in with_missing]
    )
    counts_row = con.execute(f"select {', '.join(aggregates)} from {source}").fetchone()
    rows = int(counts_row[0])
    exact: dict[int, int] = {
        p.index: int(n) for p, n in zip(row_probes, counts_row[1 : 1 + len(row_probes)], strict=True)
    }
    missing = {p.index: int(n) for p, n in zip(with_missing, counts_row[1 + len(row_probes) :], strict=True)}
    picks: list[str] = ["(select cast(null as bigint) as _rid where false)"]
    if SAMPLE_ROWS > 0:
        picks.append(
            f"(select _rid from {source} using sample reservoir({SAMPLE_ROWS} rows) repeatable ({SAMPLE_SEED}))"
        )
    for probe in row_probes:
        if exact[probe.index]:
            picks.append(f"(select _rid from {source} where {probe.predicate} limit {EVIDENCE_PER_CHECK})")
    for probe in plan_.probes:
        if probe.kind == "extreme":
            col = quote(probe.keys[0])
            picks.append(f"(select _rid from {source} where {col} is not null order by {col} {probe.order} limit 1)")
        elif probe.kind == "duplicates":
            duplicated, count = _duplicates(con, source, probe)
            exact[probe.index] = count
            if count:
                picks.append(duplicated)
    return Evidence(" union ".join(picks), exact, missing, rows)


def _duplicates(con: Any, source: str, probe: Probe) -> tuple[str, int]:
    """(SQL of the first rowids in duplicated key groups, exact number of rows in such groups).

    Grouping 10M rows on six text columns is the slowest probe, so the common case is settled on a
    64-bit hash of the key: as many distinct hashes as rows means no two keys are equal. Only
    otherwise (a duplicate, or a hash collision) are rows of colliding hashes grouped by the key.
    """
    keys = ", ".join(quote(k) for k in probe.keys)
    where = _key_filter(probe)
    colliding = con.execute(f"select count(*) - count(distinct hash({keys})) from {source} where {where}").fetchone()[0]
    if not colliding:
        return "", 0
    candidates = (
        f"(select h from (select hash({keys}) as h from {source} where {where}) group by h having count(*) > 1)"
    )
    groups = (
        f"(select {keys} from {source} where {where} and hash({keys}) in {candidates} group by all having count(*) > 1)"
    )
    count = con.execute(
        f"select count(*) from {source} s semi join {groups} g on "
        + " and ".join(f"s.{quote(k)} is not distinct from g.{quote(k)}" for k in probe.keys)
        + f" where {where}"
    ).fetchone()[0]
    rowids = (
        f"(select s._rid from {source} s semi join {groups} g on "
        + " and ".join(f"s.{quote(k)} is not distinct from g.{quote(k)}" for k in probe.keys)
        + f" where {where} order by {keys} limit {EVIDENCE_PER_CHECK})"
    )
    return rowids, int(count)


def annotation(rows: int, evidence_rows: int) -> str:
    """The line Data Docs show under an expectation whose table was validated by pushdown."""
    return (
        f"Counts are the whole table's {rows:,} rows (DuckDB). GX evaluated an evidence batch of "
        f"{evidence_rows:,} rows drawn from it (every flagged row up to {EVIDENCE_PER_CHECK} per expectation, "
        f"the extremes, a {SAMPLE_ROWS:,}-row sample): the unexpected values listed are the table's own."
    )
