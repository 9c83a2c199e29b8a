"""The dbt project's own compiled SQL run as one plain DuckDB script: the floor dbt is measured against.

Same input (the raw catalog, copied into `raw` as `eduopen.warehouse.audit.prepare_audit` does, and the
seeds), the same SQL (dbt compiles every model once, as a full refresh runs it), none of dbt's
machinery while it runs: no parsing, no data tests, unit tests or contracts, no incremental
bookkeeping, no per-node start-up. Each model becomes one `create table … as`, in dependency
order. So the ratio of a dbt build to this floor measures what dbt adds, never a second
hand-written version of the models (`fingerprints` checks the marts row for row anyway).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from eduopen.core.config import duckdb_config
from eduopen.core.paths import Home
from eduopen.warehouse.compiled import compile_models
from ingest.raw_store import RAW_TABLES, SCHEMA

MARTS = (
    "dim_country",
    "dim_indicator",
    "dim_theme",
    "fct_policy_release",
    "fct_release_figure",
    "fct_moe_student_statistic",
    "fct_student_mobility",
    "fct_mobility_flow",
    "bridge_release_theme",
    "mart_country_exchange",
    "mart_opening_up_scorecard",
)


def _copy_raw(con: duckdb.DuckDBPyConnection, catalog: Path) -> None:
    """The raw copy `prepare_audit` makes: every raw table as a plain table in schema `raw`."""
    con.execute("create schema if not exists raw")
    con.execute("use raw")
    con.execute(SCHEMA)  # tables the catalog lacks still exist, empty
    con.execute("use main")
    con.execute(f"attach '{str(catalog).replace(chr(39), chr(39) * 2)}' as rawcat (read_only)")
    try:
        present = {
            r[0]
            for r in con.execute("select table_name from duckdb_tables() where database_name = 'rawcat'").fetchall()
        }
        for table in RAW_TABLES:
            if table in present:
                con.execute(f"create or replace table raw.{table} as select * from rawcat.{table}")
    finally:
        con.execute("detach rawcat")


def build(home: Home, target: Path, *, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build the marts from `home`'s raw catalog into a fresh DuckDB file `target`; return timings.

    Seeding and compiling are dbt's and happen before the clock starts: `seconds` is the raw copy
    plus the models' SQL.
    """
    for path in (target, Path(f"{target}.wal")):
        path.unlink(missing_ok=True)
    work = target.with_name(f"{target.stem}-dbt")
    shutil.rmtree(work, ignore_errors=True)
    compile_started = time.perf_counter()
    try:
        models = compile_models(home, target, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    compile_s = time.perf_counter() - compile_started
    started = time.perf_counter()
    # The pipeline's own DuckDB settings (memory cap, no insertion order), so the floor differs
    # from the dbt build in the tool alone, not in what DuckDB is allowed to do.
    con = duckdb.connect(str(target), config=duckdb_config())
    steps: dict[str, float] = {}
    try:
        con.execute("set enable_progress_bar = false")
        t0 = time.perf_counter()
        _copy_raw(con, home.catalog)
        steps["raw_copy"] = time.perf_counter() - t0
        for model in models:
            t0 = time.perf_counter()
            con.execute(f'create schema if not exists "{model.schema}"')
            con.execute(f'create or replace table "{model.schema}"."{model.name}" as {model.sql}')
            steps[model.name] = time.perf_counter() - t0
            if progress and steps[model.name] > 5:
                progress(f"plain SQL {model.name}: {steps[model.name]:.1f} s")
        con.execute("checkpoint")
    finally:
        con.close()
    return {
        "seconds": time.perf_counter() - started,
        "compile_s": round(compile_s, 2),
        "steps": {k: round(s, 3) for k, s in steps.items()},
    }


def fingerprints(database: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-free hash of every mart, doubles rounded to 6 decimals (sum order)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        result = {}
        for mart in MARTS:
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = 'marts' "
                "and table_name = ? order by column_name",
                [mart],
            ).fetchall()
            if not columns:
                continue
            parts = [f"round({name}, 6)" if kind == "DOUBLE" else f'"{name}"' for name, kind in columns]
            count, digest = con.execute(
                f"select count(*), coalesce(sum(hash({', '.join(parts)})), 0) from marts.{mart}"
            ).fetchone()
            result[mart] = (count, str(digest))
        return result
    finally:
        con.close()
