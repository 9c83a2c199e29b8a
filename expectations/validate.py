"""The quality gate: run the expectation suites on the AUDIT warehouse with Great Expectations.

GX 1.x has no DuckDB datasource, so each table is snapshotted from `audit.duckdb` (opened
read-only) to a Parquet file and validated by real GX expectations through a pandas Parquet asset.
Parquet rather than in-memory DataFrames so that one Checkpoint can carry every suite: a DataFrame
asset takes its frame as a run-time batch parameter, which a Checkpoint shares among all its
validation definitions. One Checkpoint run, one Data Docs site (`<home>/docs/gx/index.html`).

The outcome is recorded in `<home>/state/validation.json` together with the sha256 of the audit
file as validated; `publish` refuses any audit file whose bytes do not match that record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from expectations.loader import SuiteSpec, build_suite, load_suite_specs, quiet_gx
from ingest.config import Home
from ingest.errors import ValidationFailed
from ingest.locking import writer_lock
from ingest.raw_store import atomic_write

log = logging.getLogger("eduopen.validate")
quiet_gx()

SITE_NAME = "eduopen"
CHECKPOINT_NAME = "eduopen_audit_gate"
# Enough failing values to see the pattern in the record; the full list is in Data Docs.
OBSERVED_SAMPLE = 5
MESSAGE_ITEMS = 6


def validation_record_path(home: Home) -> Path:
    return home.state / "validation.json"


def docs_dir(home: Home) -> Path:
    return home.docs / "gx"


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def wal_path(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _context(home: Home) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # Ephemeral: suites come from the reviewed JSON files on every run, so nothing of GX's own
    # state needs to persist; only the Data Docs site is written to disk.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(docs_dir(home))},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


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
        con = duckdb.connect(str(home.warehouse), read_only=True)
    except duckdb.Error as exc:
        raise ValidationFailed(f"cannot open the published warehouse {home.warehouse} for the "
                               f"row-count baseline: {exc}") from exc
    try:
        present = _present_tables(con)
        return {table: con.execute(f"select count(*) from {table}").fetchone()[0]
                for table in tables if table in present}
    finally:
        con.close()


def _snapshot(con: duckdb.DuckDBPyConnection, spec: SuiteSpec, target: Path) -> int:
    """Write the table to Parquet in the shape GX's pandas engine validates correctly; return rows."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
        "order by column_index",
        [spec.schema, spec.table_name],
    ).fetchall()
    select = []
    for name, data_type in columns:
        col = _quote(name)
        kind = data_type.upper()
        if kind in ("DOUBLE", "FLOAT", "REAL"):
            # pandas reads NaN as "missing", which range checks skip; NaN is a bad value, not a
            # missing one, so it is validated as +Infinity and fails every finite range.
            select.append(f"case when isnan({col}) then 'Infinity'::double else {col} end as {col}")
        elif kind == "DATE":
            # Parquet dates come back as Python objects that GX cannot compare with its bounds.
            select.append(f"cast({col} as timestamp) as {col}")
        elif kind == "JSON":
            select.append(f"cast({col} as varchar) as {col}")
        else:
            select.append(col)
    table = f"{_quote(spec.schema)}.{_quote(spec.table_name)}"
    con.execute(f"copy (select {', '.join(select) or '*'} from {table}) "
                f"to {_sql_string(str(target))} (format parquet)")
    return con.execute(f"select count(*) from {table}").fetchone()[0]


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
    return f"{item['suite']}: {item['expectation_type']}({item['column'] or ''})"


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

    Returns the summary (also written to `state/validation.json`) when every expectation holds.
    Raises `ValidationFailed` naming the failing expectations otherwise, after writing the record
    and the docs. `max_row_drop_pct` overrides the allowed row-count drop versus the published
    warehouse for every suite (default: the suite file, `EDUOPEN_MAX_ROW_DROP_PCT`, then 50).
    """
    home = (home or Home.from_env()).ensure()
    with writer_lock(home):
        return _validate(home, max_row_drop_pct=max_row_drop_pct, suites_dir=suites_dir)


def _validate(home: Home, *, max_row_drop_pct: float | None, suites_dir: Path | None) -> dict[str, Any]:
    started = time.monotonic()
    validated_at = datetime.now(UTC).isoformat()
    record_path = validation_record_path(home)
    # Fail closed: if this run dies half-way, no earlier "success" may stand in for it.
    record_path.unlink(missing_ok=True)
    specs = load_suite_specs(suites_dir)
    if not home.audit.exists():
        raise ValidationFailed(f"no audit warehouse at {home.audit}; run `eduopen transform` first")

    _checkpoint_wal(home.audit)
    published = _published_counts(home, [spec.table for spec in specs])
    work_root = home.state / "gx"
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="batches-", dir=work_root))
    try:
        # The read-only connection holds DuckDB's shared file lock, so no writer can change the
        # file between hashing it and reading the tables: the hash names exactly what we checked.
        con = duckdb.connect(str(home.audit), read_only=True)
        try:
            audit_sha256 = file_sha256(home.audit)
            present = _present_tables(con)
            snapshots: dict[str, tuple[Path, int]] = {}
            for spec in specs:
                if spec.table in present:
                    target = work / f"{spec.name}.parquet"
                    snapshots[spec.name] = (target, _snapshot(con, spec, target))
        finally:
            con.close()
        outcome = _run_gx(home, specs, snapshots, published, max_row_drop_pct)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    failed: list[dict[str, Any]] = []
    suites: dict[str, dict[str, Any]] = {}
    for spec in specs:
        info: dict[str, Any] = {"table": spec.table, "required": spec.required, "version": spec.version,
                                "present": spec.name in snapshots,
                                "rows": snapshots[spec.name][1] if spec.name in snapshots else None,
                                "published_rows": published.get(spec.table)}
        info.update(outcome["suites"].get(spec.name, {}))
        suites[spec.name] = info
        if spec.name not in snapshots and spec.required:
            failed.append({"suite": spec.name, "expectation_type": "table_exists", "column": None,
                           "kwargs": {"table": spec.table}, "observed": "missing from the audit warehouse"})
    failed.extend(outcome["failed"])

    index = docs_dir(home) / "index.html"
    record = {
        "audit_sha256": audit_sha256,
        "success": not failed,
        "failed": failed,
        "docs_index": str(index),
        "validated_at": validated_at,
        "seconds": round(time.monotonic() - started, 3),
        "suites": suites,
        "statistics": outcome["statistics"],
    }
    atomic_write(record_path, json.dumps(record, indent=2, ensure_ascii=False, default=str).encode("utf-8"))
    if failed:
        labels = ", ".join(_failure_label(item) for item in failed[:MESSAGE_ITEMS])
        more = f" and {len(failed) - MESSAGE_ITEMS} more" if len(failed) > MESSAGE_ITEMS else ""
        noun = "expectation" if len(failed) == 1 else "expectations"
        error = ValidationFailed(f"{len(failed)} {noun} failed: {labels}{more}; see {index}")
        error.summary = record  # type: ignore[attr-defined]
        raise error
    log.info("validation passed: %d expectations on %d tables in %.1f s",
             outcome["statistics"]["evaluated_expectations"], len(snapshots), record["seconds"])
    return record


def _run_gx(
    home: Home,
    specs: list[SuiteSpec],
    snapshots: dict[str, tuple[Path, int]],
    published: dict[str, int],
    max_row_drop_pct: float | None,
) -> dict[str, Any]:
    import great_expectations as gx

    # The site shows this run only: pages of earlier runs would otherwise linger next to it.
    shutil.rmtree(docs_dir(home) / "validations", ignore_errors=True)
    context = _context(home)
    source = context.data_sources.add_pandas("audit")
    definitions = []
    suites_info: dict[str, dict[str, Any]] = {}
    for spec in specs:
        if spec.name not in snapshots:
            continue
        path, rows = snapshots[spec.name]
        asset = source.add_parquet_asset(spec.name, path=path)
        batch = asset.add_batch_definition_whole_dataframe("whole_table")
        suite, skipped = build_suite(spec, rows=rows, published_rows=published.get(spec.table),
                                     max_row_drop_pct=max_row_drop_pct)
        suite = context.suites.add(suite)
        definitions.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)))
        suites_info[spec.name] = {"skipped": skipped}

    failed: list[dict[str, Any]] = []
    statistics = {"evaluated_expectations": 0, "successful_expectations": 0, "unsuccessful_expectations": 0}
    if not definitions:
        context.build_data_docs(site_names=[SITE_NAME])
        return {"failed": failed, "suites": suites_info, "statistics": statistics}

    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=CHECKPOINT_NAME,
        validation_definitions=definitions,
        actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[SITE_NAME])],
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
    ))
    with warnings.catch_warnings():
        # pandas/numpy deprecation chatter from inside GX's metric code is not ours to fix.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        result = checkpoint.run()

    for suite_result in result.run_results.values():
        name = suite_result.suite_name
        stats = suite_result.statistics
        for key in statistics:
            statistics[key] += int(stats.get(key, 0) or 0)
        suites_info.setdefault(name, {}).update(
            success=bool(suite_result.success),
            evaluated=int(stats.get("evaluated_expectations", 0) or 0),
            failed=int(stats.get("unsuccessful_expectations", 0) or 0),
        )
        for item in suite_result.results:
            if item.success:
                continue
            config = item.expectation_config
            kwargs = {k: v for k, v in dict(config.kwargs).items() if k != "batch_id"}
            failed.append({
                "suite": name,
                "expectation_type": config.type,
                "column": _column_of(kwargs),
                "kwargs": _jsonable(kwargs),
                "observed": _observed(item.result, item.exception_info),
            })
    return {"failed": failed, "suites": suites_info, "statistics": statistics}
