"""The quality gate: run the expectation suites on the AUDIT warehouse with Great Expectations.

GX 1.x has no DuckDB datasource, so each table is snapshotted from `audit.duckdb` (opened
read-only) to a Parquet file and validated by real GX expectations through a pandas Parquet asset,
one GX Validator per suite, whose results GX's validation results store keeps in
`<home>/state/gx/validation_results`; the Data Docs site rendering them (`<home>/docs/gx/index.html`,
see data_docs.py) is built by the docs step, or by the gate itself when it fails;
`validation_docs_page` names a run's page for a suite.

Scale: a table of more than `EDUOPEN_GX_FULL_ROWS` rows (default 10,000) is not loaded whole.
DuckDB scans it for every row each expectation would flag, with exact counts, and GX validates
the *evidence batch* (flagged rows, extremes, a sample; see pushdown.py), and the whole table's
counts replace the batch's in GX's result before it is stored. SQL checks across marts
and the row-count change are `UnexpectedRowsExpectation`s that DuckDB answers on the whole audit
warehouse (see duckdb_metrics.py).

The outcome is recorded in `<home>/state/validation.json` together with the sha256 of the audit
file as validated; `publish` refuses any audit file whose bytes do not match that record.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from eduopen.core.config import GX_FULL_ROWS, GX_KEEP_RUNS, duckdb_config
from eduopen.core.errors import ValidationFailed
from eduopen.core.files import atomic_write, file_sha256
from eduopen.core.paths import Home
from expectations import data_docs, pushdown
from expectations.data_docs import docs_dir
from expectations.loader import (
    ROW_COUNT_CHECK,
    ROW_GROWTH_CHECK,
    SQL_CHECK_TYPE,
    SuiteSpec,
    build_suite,
    check_expectation_types,
    load_suite_specs,
    quiet_gx,
)
from expectations.pushdown import quote, sql_string

log = logging.getLogger("eduopen.validate")
quiet_gx()

DATASOURCE = "audit"
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
RUN_NAME = "audit_gate"
# Enough failing values to see the pattern in the record; the full list is in Data Docs.
OBSERVED_SAMPLE = 5
MESSAGE_ITEMS = 6
# The gate's process holds GX, pandas and the batches (~0.5 GB) besides DuckDB, whose buffer pool
# mostly caches blocks its scans read once: half the pipeline's DuckDB cap keeps the whole process
# near that cap, where the full one put it 0.6 GB above at 100x.
GATE_DUCKDB_MEMORY_SHARE = 0.5
_SIZE_UNITS = {
    "B": 1,
    "BYTES": 1,
    "K": 1000,
    "KB": 1000,
    "M": 1000**2,
    "MB": 1000**2,
    "G": 1000**3,
    "GB": 1000**3,
    "T": 1000**4,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}


@dataclass
class Snapshot:
    """What GX validates for one suite: a Parquet file of the whole table or of its evidence."""

    path: Path
    rows: int
    mode: str  # "full" or "evidence"
    batch_rows: int
    exact: dict[int, int] = field(default_factory=dict)  # expectation index -> unexpected rows (evidence)
    missing: dict[int, int] = field(default_factory=dict)  # expectation index -> rows outside its domain
    full_reason: str | None = None  # why a large table was validated whole
    seconds: float = 0.0  # DuckDB time to count, probe and write the batch


def full_rows_limit() -> int:
    """Up to this many rows GX sees the whole table (exact GX counts in Data Docs, ~0.1 s per suite);
    above it, the evidence batch. Measured figures are in expectations/README.md."""
    return GX_FULL_ROWS.value()


def validation_record_path(home: Home) -> Path:
    return home.state / "validation.json"


def validation_docs_page(home: Home, suite: str | None = None) -> Path:
    """The Data Docs page of the last gate run's result for `suite`, or without `suite`, of the
    first suite that failed; the Data Docs index when there is no such page (yet)."""
    index = docs_dir(home) / "index.html"
    try:
        record = json.loads(validation_record_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return index
    if suite is None:
        failed = [item["suite"] for item in record.get("failed", [])]
        suite = failed[0] if failed else None
    page = recorded_docs_page(record, suite) if suite else None
    return page or index


def recorded_docs_page(record: Mapping[str, Any], suite: str) -> Path | None:
    """The Data Docs page a gate run's record (`state/validation.json`) names for `suite`."""
    page = ((record.get("suites") or {}).get(suite) or {}).get("docs_page")
    return Path(page) if page else None


def size_bytes(text: str) -> int:
    """Bytes of a DuckDB size as `EDUOPEN_MEMORY_LIMIT` takes it (2500MB, 1.5GiB)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text)
    if not match or match[2].upper() not in _SIZE_UNITS:
        raise ValueError(f"not a DuckDB size: {text!r}")
    return int(float(match[1]) * _SIZE_UNITS[match[2].upper()])


def gate_duckdb_config() -> dict[str, Any]:
    """The pipeline's DuckDB settings with the gate's share of the memory cap."""
    config = duckdb_config()
    config["memory_limit"] = f"{int(size_bytes(config['memory_limit']) * GATE_DUCKDB_MEMORY_SHARE)}B"
    return config


def wal_path(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _checkpoint_wal(audit: Path) -> None:
    """Fold a leftover write-ahead log into the audit file, so its bytes are the whole database.

    The sha256 we record, and the file publish copies, cover `audit.duckdb` only.
    """
    if wal_path(audit).exists():
        con = duckdb.connect(str(audit))
        try:
            con.execute("checkpoint")
        finally:
            con.close()


def _present_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() "
        "union all select schema_name || '.' || view_name from duckdb_views() where not internal"
    ).fetchall()
    return {row[0] for row in rows}


def _published_counts(home: Home, tables: list[str]) -> dict[str, int]:
    """Row counts of `tables` in the PUBLISHED warehouse: the baseline of the row-count check."""
    if not home.warehouse.exists():
        return {}
    try:
        con = duckdb.connect(str(home.warehouse), read_only=True, config=gate_duckdb_config())
    except duckdb.Error as exc:
        raise ValidationFailed(
            f"cannot open the published warehouse {home.warehouse} for the row-count baseline: {exc}"
        ) from exc
    try:
        present = _present_tables(con)
        return {
            table: con.execute(f"select count(*) from {table}").fetchall()[0][0] for table in tables if table in present
        }
    finally:
        con.close()


def _converted(con: duckdb.DuckDBPyConnection, spec: SuiteSpec) -> tuple[list[str], dict[str, str]]:
    """Select list putting the table in the shape GX's pandas engine validates correctly, and the
    resulting column types (the SQL probes compare against those, so they see what GX sees)."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
        "order by column_index",
        [spec.schema, spec.table_name],
    ).fetchall()
    select, types = [], {}
    for name, data_type in columns:
        col = quote(name)
        kind = data_type.upper()
        if kind in ("DOUBLE", "FLOAT", "REAL"):
            # pandas reads NaN as "missing", which range checks skip; NaN is a bad value, not a
            # missing one, so it is validated as +Infinity and fails every finite range.
            select.append(f"case when isnan({col}) then 'Infinity'::double else {col} end as {col}")
            types[name] = "double"
        elif kind == "DATE":
            # Parquet dates come back as Python objects that GX cannot compare with its bounds.
            select.append(f"cast({col} as timestamp) as {col}")
            types[name] = "timestamp"
        elif kind == "JSON":
            select.append(f"cast({col} as varchar) as {col}")
            types[name] = "varchar"
        else:
            select.append(col)
            types[name] = data_type
    return select, types


def _snapshot(con: duckdb.DuckDBPyConnection, spec: SuiteSpec, target: Path, full_rows: int) -> Snapshot:
    """Write what GX will validate for `spec` to `target`: the whole table, or its evidence batch."""
    table = f"{quote(spec.schema)}.{quote(spec.table_name)}"
    select, types = _converted(con, spec)
    columns = ", ".join(select) or "*"
    rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    plan, why_not = (None, None) if rows <= full_rows else pushdown.plan(spec, types)
    if plan is None:
        con.execute(f"copy (select {columns} from {table}) to {sql_string(str(target))} (format parquet)")
        if why_not:
            log.warning("%s: %d rows validated whole, not reducible: %s", spec.name, rows, why_not)
        return Snapshot(target, rows, "full", rows, full_reason=why_not)
    source = f"(select rowid as _rid, {columns} from {table})"
    try:
        evidence = pushdown.collect_evidence(con, source, plan)
        con.execute(
            f"copy (select * exclude (_rid) from {source} where _rid in ({evidence.picks})) "
            f"to {sql_string(str(target))} (format parquet)"
        )
    except duckdb.Error as exc:
        # A probe DuckDB cannot run (say, a regex RE2 rejects) must not decide anything: GX gets
        # the whole table and judges it itself, slowly but exactly.
        log.warning("%s: evidence probes failed (%s); validating the whole table", spec.name, exc)
        con.execute(f"copy (select {columns} from {table}) to {sql_string(str(target))} (format parquet)")
        return Snapshot(target, rows, "full", rows, full_reason=f"probe failed: {exc}")
    batch_rows = con.execute(f"select count(*) from read_parquet({sql_string(str(target))})").fetchall()[0][0]
    return Snapshot(target, rows, "evidence", batch_rows, evidence.unexpected, evidence.missing)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    try:  # numpy scalars
        return _jsonable(value.item())
    except (AttributeError, ValueError):
        pass
    text = str(value)
    return None if text in ("NaT", "nan", "<NA>") else text


def _observed(result: Any, exception_info: Any) -> Any:
    message = None
    if isinstance(exception_info, dict):
        infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
        raised = [i for i in infos if isinstance(i, dict) and i.get("raised_exception")]
        if raised:
            message = raised[0].get("exception_message")
    if message:
        return {"exception": message}
    result = dict(result or {})
    if "observed_value" in result:
        return _jsonable(result["observed_value"])
    keep = {k: result[k] for k in ("unexpected_count", "unexpected_percent") if k in result}
    if "partial_unexpected_list" in result:
        keep["partial_unexpected_list"] = list(result["partial_unexpected_list"])[:OBSERVED_SAMPLE]
    return _jsonable(keep)


def _failure_label(item: dict[str, Any]) -> str:
    return f"{item['suite']}: {item['check']}({item['column'] or ''})"


def _column_of(kwargs: dict[str, Any]) -> str | None:
    if kwargs.get("column"):
        return kwargs["column"]
    if kwargs.get("column_list"):
        return ",".join(kwargs["column_list"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return None


def validate(
    home: Home | None = None,
    *,
    max_row_drop_pct: float | None = None,
    suites_dir: Path | None = None,
) -> dict[str, Any]:
    """Validate `audit.duckdb` against every suite; record the result and build Data Docs.

    Returns the summary (also written to `state/validation.json`) when no critical expectation
    fails. Raises `ValidationFailed` naming the failing expectations otherwise, after writing the
    record and the docs. `max_row_drop_pct` overrides the allowed row-count drop versus the published
    warehouse for every suite (default: the suite file, `EDUOPEN_MAX_ROW_DROP_PCT`, then 50).

    The caller holds the home's writer lock (`eduopen.pipeline.validate` takes it): the record
    names the bytes of an audit file no one else may write meanwhile.
    """
    home = (home or Home.from_env()).ensure()
    return _validate(home, max_row_drop_pct=max_row_drop_pct, suites_dir=suites_dir)


def _load_gx(specs: list[SuiteSpec]) -> None:
    """Import GX (seconds) and the DuckDB metric providers, then check the suites' type names."""
    import great_expectations  # noqa: F401

    import expectations.duckdb_metrics  # noqa: F401 - registers the providers on import

    check_expectation_types(specs)


def _validate(home: Home, *, max_row_drop_pct: float | None, suites_dir: Path | None) -> dict[str, Any]:
    started = time.monotonic()
    run_time = datetime.now(UTC)
    validated_at = run_time.isoformat()
    record_path = validation_record_path(home)
    # Fail closed: if this run dies half-way, no earlier "success" may stand in for it.
    record_path.unlink(missing_ok=True)
    specs = load_suite_specs(suites_dir, check_types=False)
    full_rows = full_rows_limit()
    if not home.audit.exists():
        raise ValidationFailed(f"no audit warehouse at {home.audit}; run `eduopen transform` first")

    _checkpoint_wal(home.audit)
    published = _published_counts(home, [spec.table for spec in specs])
    work_root = home.state / "gx"
    work_root.mkdir(parents=True, exist_ok=True)
    # The suites store holds one run's suites: a suite file removed since must not linger in Data Docs.
    shutil.rmtree(data_docs.suites_store_dir(home), ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="batches-", dir=work_root))
    phases: dict[str, float] = {}
    # Importing GX (Python, holds the GIL) and hashing the audit file (hashlib releases the GIL)
    # overlap with DuckDB's scans (which release it too): at 10x they are a third of the gate.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="gate") as pool:
        gx_loaded = pool.submit(_load_gx, specs)
        try:
            # The read-only connection holds DuckDB's shared file lock, so no writer can change the
            # file while it is hashed and checked: the hash names exactly what was checked.
            con = duckdb.connect(str(home.audit), read_only=True, config=gate_duckdb_config())
            try:
                digest = pool.submit(file_sha256, home.audit)
                mark = time.monotonic()
                present = _present_tables(con)
                snapshots: dict[str, Snapshot] = {}
                for spec in specs:
                    if spec.table in present:
                        began = time.monotonic()
                        snapshots[spec.name] = _snapshot(con, spec, work / f"{spec.name}.parquet", full_rows)
                        snapshots[spec.name].seconds = round(time.monotonic() - began, 3)
                phases["snapshot_s"] = round(time.monotonic() - mark, 3)
                mark = time.monotonic()
                gx_loaded.result()
                phases["gx_import_wait_s"] = round(time.monotonic() - mark, 3)
                mark = time.monotonic()
                outcome = _run_gx(home, con, specs, snapshots, published, max_row_drop_pct, run_time)
                phases["gx_s"] = round(time.monotonic() - mark, 3)
                mark = time.monotonic()
                audit_sha256 = digest.result()
                phases["hash_wait_s"] = round(time.monotonic() - mark, 3)
            finally:
                con.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)

    failed: list[dict[str, Any]] = []
    suites: dict[str, dict[str, Any]] = {}
    for spec in specs:
        snap = snapshots.get(spec.name)
        info: dict[str, Any] = {
            "table": spec.table,
            "required": spec.required,
            "version": spec.version,
            "present": snap is not None,
            "rows": snap.rows if snap else None,
            "published_rows": published.get(spec.table),
        }
        if snap:
            info.update(mode=snap.mode, batch_rows=snap.batch_rows, snapshot_s=snap.seconds)
            if snap.full_reason:
                info["full_reason"] = snap.full_reason
        info.update(outcome["suites"].get(spec.name, {}))
        suites[spec.name] = info
        if snap is None and spec.required:
            failed.append(
                {
                    "suite": spec.name,
                    "check": "table_exists",
                    "expectation_type": "table_exists",
                    "column": None,
                    "severity": "critical",
                    "kwargs": {"table": spec.table},
                    "observed": "missing from the audit warehouse",
                }
            )
    failed.extend(outcome["failed"])

    index = docs_dir(home) / "index.html"
    if failed:
        # The alert links the failed suite's page: it must exist when the gate's verdict is out.
        mark = time.monotonic()
        data_docs.build(home, outcome["context"])
        phases["data_docs_s"] = round(time.monotonic() - mark, 3)
    record = {
        "audit_sha256": audit_sha256,
        "success": not failed,
        "failed": failed,
        "warnings": outcome["warnings"],
        "docs_index": str(index),
        "validated_at": validated_at,
        "seconds": round(time.monotonic() - started, 3),
        "phases": phases,
        "full_rows_limit": full_rows,
        "suites": suites,
        "statistics": outcome["statistics"],
    }
    atomic_write(record_path, json.dumps(record, indent=2, ensure_ascii=False, default=str).encode("utf-8"))
    for item in outcome["warnings"]:
        log.warning("gate warning (does not block): %s; observed %s", _failure_label(item), item["observed"])
    if failed:
        labels = ", ".join(_failure_label(item) for item in failed[:MESSAGE_ITEMS])
        more = f" and {len(failed) - MESSAGE_ITEMS} more" if len(failed) > MESSAGE_ITEMS else ""
        noun = "expectation" if len(failed) == 1 else "expectations"
        error = ValidationFailed(f"{len(failed)} {noun} failed: {labels}{more}; see {index}")
        error.summary = record  # type: ignore[attr-defined]
        raise error
    log.info(
        "validation passed: %d expectations on %d tables in %.1f s",
        outcome["statistics"]["evaluated_expectations"],
        len(snapshots),
        record["seconds"],
    )
    return record


def _annotations(spec: SuiteSpec, snap: Snapshot) -> dict[int, str]:
    if snap.mode != "evidence":
        return {}
    return {
        index: pushdown.annotation(snap.rows, snap.batch_rows)
        for index, item in enumerate(spec.expectations)
        if item.type != SQL_CHECK_TYPE
    }


def whole_table_result(result: dict[str, Any], rows: int, unexpected: int, missing: int | None) -> dict[str, Any]:
    """GX's result of a map expectation evaluated on an evidence batch, with the whole table's
    counts and percentages in GX's own keys (the values listed stay the batch's: rows of the table).

    The formulas are GX's (`_format_map_output`): an expectation that reports no `missing_count`
    (the null checks) counts every row in its domain.
    """
    fixed = dict(result)
    skip_missing = "missing_count" not in result
    missing_rows = 0 if skip_missing else int(missing or 0)
    nonnull = rows - missing_rows
    total = unexpected / rows * 100 if rows else None
    nonmissing = total if skip_missing else (unexpected / nonnull * 100 if nonnull else None)
    fixed.update(element_count=rows, unexpected_count=unexpected, unexpected_percent=nonmissing if rows else None)
    if not skip_missing:
        fixed.update(
            missing_count=missing_rows,
            missing_percent=missing_rows / rows * 100 if rows else None,
            unexpected_percent_total=total,
            unexpected_percent_nonmissing=nonmissing if rows else None,
        )
    # Row positions within the batch say nothing about the table.
    fixed.pop("partial_unexpected_index_list", None)
    fixed.pop("unexpected_index_list", None)
    return fixed


def _report_whole_tables(suite_result: Any, snap: Snapshot) -> None:
    """Put the whole table's counts into GX's result of a suite validated on its evidence batch."""
    if snap.mode != "evidence":
        return
    for item in suite_result.results:
        index = (item.expectation_config.meta or {}).get("index")
        if index in snap.exact and item.result and "unexpected_count" in item.result:
            item.result = whole_table_result(item.result, snap.rows, snap.exact[index], snap.missing.get(index))
    suite_result.meta["evaluated_on"] = (
        f"whole table of {snap.rows} rows; values from an evidence batch of {snap.batch_rows}"
    )


def _run_gx(
    home: Home,
    con: duckdb.DuckDBPyConnection,
    specs: list[SuiteSpec],
    snapshots: dict[str, Snapshot],
    published: dict[str, int],
    max_row_drop_pct: float | None,
    run_time: datetime,
) -> dict[str, Any]:
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.validator.v1_validator import Validator

    from expectations.duckdb_metrics import query_scope

    context = data_docs.gx_context(home)
    source = context.data_sources.add_pandas(DATASOURCE)
    runs = []
    suites_info: dict[str, dict[str, Any]] = {}
    by_name = {spec.name: spec for spec in specs}
    for spec in specs:
        snap = snapshots.get(spec.name)
        if snap is None:
            continue
        asset = source.add_parquet_asset(spec.name, path=snap.path)
        batch = asset.add_batch_definition_whole_dataframe("whole_table")
        suite, skipped = build_suite(
            spec,
            rows=snap.rows,
            published_rows=published.get(spec.table),
            max_row_drop_pct=max_row_drop_pct,
            annotations=_annotations(spec, snap),
        )
        # Stored for Data Docs' suite pages; the run validates the object built here.
        context.suites.add(suite)
        runs.append((batch, suite))
        suites_info[spec.name] = {"skipped": skipped}

    # GX's own Validator on each suite's batch: what a Checkpoint's validation definitions run, without
    # the store round trips by which they check themselves "fresh" (a fifth of the gate's GX time)
    # and without storing each result twice (once as GX counted it, once with the whole table's counts).
    run_id = RunIdentifier(run_name=RUN_NAME, run_time=run_time)
    run_results: dict[Any, Any] = {}
    tables = {spec.name: f"{quote(spec.schema)}.{quote(spec.table_name)}" for spec in specs}
    with query_scope(con, tables) as scope, warnings.catch_warnings():
        # pandas/numpy deprecation chatter from inside GX's metric code is not ours to fix.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        for batch, suite in runs:
            validator = Validator(batch_definition=batch, result_format=RESULT_FORMAT)
            suite_result = validator.validate_expectation_suite(suite)
            # The keys ValidationDefinition.run adds, which Data Docs show.
            suite_result.meta.update(run_id=run_id, validation_time=run_id.run_time, batch_parameters=None)
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                run_id=run_id,
                batch_identifier=validator.active_batch_id,
            )
            run_results[key] = suite_result
        samples = {key: rows for key, (_, rows) in scope.answers.items()}
    store = context.validation_results_store
    for key, suite_result in run_results.items():
        _report_whole_tables(suite_result, snapshots[suite_result.suite_name])
        store.set(key, suite_result)
        suites_info[suite_result.suite_name]["docs_page"] = data_docs.page_path(context, key)
    data_docs.prune_runs(store, GX_KEEP_RUNS.value())

    failed: list[dict[str, Any]] = []
    warned: list[dict[str, Any]] = []
    statistics = {"evaluated_expectations": 0, "successful_expectations": 0, "unsuccessful_expectations": 0}
    for suite_result in run_results.values():
        name = suite_result.suite_name
        spec, snap = by_name[name], snapshots[name]
        stats = suite_result.statistics
        for key in statistics:
            statistics[key] += int(stats.get(key, 0) or 0)
        suite_failed = 0
        for item in suite_result.results:
            if item.success:
                continue
            config = item.expectation_config
            meta = dict(config.meta or {})
            index = meta.get("index")
            severity = spec.expectations[index].severity if index is not None else meta.get("severity", "critical")
            kwargs = {k: v for k, v in dict(config.kwargs).items() if k != "batch_id"}
            if config.type == SQL_CHECK_TYPE:
                observed = _observed_rows(item, samples.get((name, kwargs.get("unexpected_rows_query", ""))))
            else:
                observed = _observed(item.result, item.exception_info)
                if index in snap.exact and isinstance(observed, dict) and "exception" not in observed:
                    # The counts are the whole table's (_report_whole_tables); the values the batch's.
                    observed["evaluated_on"] = f"evidence batch of {snap.batch_rows} of {snap.rows} rows"
            entry = {
                "suite": name,
                "check": meta.get("check") or config.type,
                "expectation_type": config.type,
                "column": _column_of(kwargs),
                "severity": severity,
                "kwargs": _jsonable(kwargs),
                "observed": observed,
            }
            if meta.get("check") in (ROW_COUNT_CHECK, ROW_GROWTH_CHECK):
                entry["observed"] = {
                    "audit_rows": snap.rows,
                    "published_rows": meta.get("published_rows"),
                    **{k: meta[k] for k in ("min_rows", "max_rows") if k in meta},
                }
            (failed if severity == "critical" else warned).append(entry)
            suite_failed += severity == "critical"
        suites_info.setdefault(name, {}).update(
            success=suite_failed == 0,
            evaluated=int(stats.get("evaluated_expectations", 0) or 0),
            failed=suite_failed,
        )
    statistics["warnings"] = len(warned)
    return {"failed": failed, "warnings": warned, "suites": suites_info, "statistics": statistics, "context": context}


def _observed_rows(item: Any, sample: list[dict[str, Any]] | None) -> Any:
    """Observed value of a failed SQL check: its exact row count and the first rows it returned."""
    observed = _observed(item.result, item.exception_info)
    if isinstance(observed, dict):  # the query raised
        return observed
    return {"unexpected_rows": observed, "sample": _jsonable((sample or [])[:OBSERVED_SAMPLE])}
