"""`UnexpectedRowsExpectation` for the pandas datasource, answered by DuckDB on the audit warehouse.

GX 1.x computes the metrics of `UnexpectedRowsExpectation` (`unexpected_rows_query.table` and
`.row_count`) only for SQL and Spark datasources; on pandas it fails with "No provider found". The
gate validates pandas batches (see validate.py) but needs SQL checks across marts ("the scorecard's
inbound students equal fct_student_mobility's for China") and on whole tables (the row-count
change). So this module registers pandas providers of those two metrics that run the query in
DuckDB, on the read-only connection the gate holds on `audit.duckdb`, with `{batch}` naming the
suite's table. The expectation, its rendering in Data Docs and its result stay GX's own.

Importing this module registers the providers (GX registers metric classes when they are defined);
`query_scope` says which connection and tables a validation run uses. Outside a scope the metric
fails, so an expectation can never silently pass for want of a database.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.metrics.metric_provider import MetricProvider, metric_value

# Rows of an unexpected-rows query kept for the report and Data Docs; the count is always exact.
SAMPLE_ROWS = 20


@dataclass
class _Scope:
    con: duckdb.DuckDBPyConnection
    tables: dict[str, str]  # GX asset name (suite name) -> quoted schema.table in the audit warehouse
    # (asset, query) -> (row count, first rows): both metrics of an expectation share one scan.
    answers: dict[tuple[str, str], tuple[int, list[dict[str, Any]]]] = field(default_factory=dict)


_scope: _Scope | None = None


@contextmanager
def query_scope(con: duckdb.DuckDBPyConnection, tables: dict[str, str]) -> Iterator[_Scope]:
    """Answer unexpected-rows queries on `con` while the block runs; `tables` maps asset -> table."""
    global _scope
    if _scope is not None:
        raise RuntimeError("unexpected-rows query scopes do not nest")
    _scope = _Scope(con, dict(tables))
    try:
        yield _scope
    finally:
        _scope = None


def _asset_of(batch_id: str) -> str:
    # Batch ids are "<datasource>-<asset>[-<batch parameters>]"; asset names hold no dash.
    parts = batch_id.split("-")
    if len(parts) < 2:
        raise ValueError(f"cannot tell the asset of batch {batch_id!r}")
    return parts[1]


def _resolve(metric_domain_kwargs: dict, metric_value_kwargs: dict) -> tuple[_Scope, str, str]:
    if _scope is None:
        raise RuntimeError("unexpected-rows queries run only inside expectations.duckdb_metrics.query_scope")
    asset = _asset_of(str(metric_domain_kwargs.get("batch_id") or ""))
    if asset not in _scope.tables:
        raise ValueError(f"no audit table for asset {asset!r}")
    if metric_domain_kwargs.get("row_condition"):
        raise ValueError("row_condition is not supported on unexpected-rows queries; put it in the SQL")
    query = metric_value_kwargs["unexpected_rows_query"]
    return _scope, asset, query.format(batch=_scope.tables[asset])


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _answer(metric_domain_kwargs: dict, metric_value_kwargs: dict) -> tuple[int, list[dict[str, Any]]]:
    """(exact row count, first rows) of the query, from one DuckDB scan shared by both metrics."""
    scope, asset, query = _resolve(metric_domain_kwargs, metric_value_kwargs)
    key = (asset, metric_value_kwargs["unexpected_rows_query"])
    if key not in scope.answers:
        cursor = scope.con.cursor()
        try:
            # The window counts the whole result before the limit: one pass gives both answers.
            result = cursor.execute(
                f'select *, count(*) over () as "__unexpected_rows" from ({query}) limit {SAMPLE_ROWS}'
            )
            names = [d[0] for d in result.description]
            rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        finally:
            cursor.close()
        count = int(rows[0].pop("__unexpected_rows")) if rows else 0
        for row in rows[1:]:
            row.pop("__unexpected_rows")
        scope.answers[key] = (count, [{n: _jsonable(v) for n, v in row.items()} for row in rows])
    return scope.answers[key]


class DuckDBUnexpectedRowsTable(MetricProvider):
    """First rows of the unexpected-rows query (GX's own metric name), computed by DuckDB."""

    metric_name = "unexpected_rows_query.table"
    domain_keys = ("batch_id", "row_condition", "condition_parser")
    value_keys = ("unexpected_rows_query",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration
    ) -> list[dict[str, Any]]:
        return _answer(metric_domain_kwargs, metric_value_kwargs)[1]


class DuckDBUnexpectedRowsCount(MetricProvider):
    """Exact number of rows the unexpected-rows query returns, computed by DuckDB."""

    metric_name = "unexpected_rows_query.row_count"
    domain_keys = ("batch_id", "row_condition", "condition_parser")
    value_keys = ("unexpected_rows_query",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration
    ) -> int:
        return _answer(metric_domain_kwargs, metric_value_kwargs)[0]
