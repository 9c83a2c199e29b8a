"""The transform step: rebuild the AUDIT warehouse from the raw catalog with dbt.

Write–audit–publish: analysts read `warehouse.duckdb`; this step only ever writes `audit.duckdb`.
The audit copy starts from the published warehouse (so incremental marts continue from what
analysts see), gets fresh copies of the raw tables, then `dbt build` (seeds, models, data tests,
unit tests) runs into it. The quality gate and the publish step come after.

Locking is the caller's job (`eduopen.pipeline` holds the home writer lock).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from eduopen.core.config import DBT_DB_PATH, duckdb_config
from eduopen.core.errors import EduOpenError
from eduopen.core.paths import DBT_PROJECT_DIR, Home
from ingest.raw_store import RAW_TABLES, SCHEMA

log = logging.getLogger("eduopen.transform")

# dbt statuses that mean the build cannot be trusted ("warn" is fine: advisory tests). Nodes
# downstream of a failure are "skipped": counted, but not named, since they are not the cause.
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


class TransformError(EduOpenError):
    """dbt could not build the audit warehouse; nothing was published."""

    def __init__(self, message: str, *, failed_nodes: list[str] | None = None):
        super().__init__(message)
        self.failed_nodes = failed_nodes or []


@dataclass(frozen=True)
class CompiledModel:
    schema: str
    name: str
    sql: str


def dbt_dir(home: Home) -> Path:
    """dbt's target/ and logs/ for this home: keeps the project clean and parallel homes apart."""
    return home.root / "dbt"


# Raw tables that only ever grow, each with the column every load stamps in increasing order
# (under the home's writer lock): the audit copy, which already holds what the last build read,
# takes only the rows beyond its newest. release_version is not here: a feed entry's new version
# keeps the first version's first_seen_at.
GROWING_RAW_TABLES: dict[str, str] = {
    "fetch_log": "fetch_id",
    "observation": "loaded_at",
    "flow_observation": "loaded_at",
}
# The incremental dbt tables that, on the same premise, read only the statistics rows loaded after
# the newest they hold (dbt_project/macros/observations.sql, statistics_watermark). When the
# catalog's observations or flows did not just grow since the last build (a row stamped before its
# newest, a catalog restored from elsewhere), they are dropped from the audit copy: dbt then builds
# them again from every row instead of missing the ones stamped too early.
STATISTICS_INCREMENTAL_MODELS: tuple[str, ...] = (
    "stg_uis__observations",
    "stg_worldbank__observations",
    "stg_owid__observations",
    "stg_oecd__flows",
    "int_observations_unified",
    "int_mobility_flows",
)
STATISTICS_RAW_TABLES = ("observation", "flow_observation")
DBT_STAGING_SCHEMA = "staging"


def prepare_audit(home: Home) -> dict[str, int]:
    """Start the audit copy from the published warehouse (or empty) and bring its raw tables up to
    the catalog's.

    Returns the number of rows in each raw table of the audit copy.
    """
    home.ensure()
    _remove_database(home.audit)
    if home.warehouse.exists():
        # Copy under a temp name and rename: a crash never leaves a half-copied audit file.
        tmp = home.audit.with_name(f".{home.audit.name}.copying")
        shutil.copy2(home.warehouse, tmp)
        # A WAL left by an unclean close holds committed data: bring it along, DuckDB replays it.
        wal = Path(f"{home.warehouse}.wal")
        if wal.exists():
            shutil.copy2(wal, f"{home.audit}.wal")
        os.replace(tmp, home.audit)

    counts: dict[str, int] = {}
    con = duckdb.connect(str(home.audit), config=duckdb_config())
    try:
        con.execute("create schema if not exists raw")
        if home.catalog.exists():
            con.execute(f"attach '{_sql_path(home.catalog)}' as rawcat (read_only)")
            try:
                refreshed = {table: _refresh_raw_table(con, table) for table in RAW_TABLES}
            finally:
                con.execute("detach rawcat")
            log.info("audit raw tables: %s", refreshed)
            if any(refreshed[table] == "copied" for table in STATISTICS_RAW_TABLES):
                _drop_statistics_tables(con)
        else:
            for table in RAW_TABLES:
                con.execute(f"drop table if exists raw.{table}")
        # The raw DDL is written for the default schema; run it inside `raw` so a missing catalog
        # (or a table an older catalog lacks) still gives dbt the tables it reads, empty.
        con.execute("use raw")
        con.execute(SCHEMA)
        con.execute("use main")
        for table in RAW_TABLES:
            counts[table] = con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
        con.execute("checkpoint")
    finally:
        # One writer at a time: dbt opens the file next.
        con.close()
    return counts


def _refresh_raw_table(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Make `raw.<table>` of the audit copy equal the catalog's `rawcat.<table>`.

    Returns how: "appended" (only the catalog's newer rows were added), "copied" (the whole table)
    or "absent" (the catalog has no such table; the caller creates it empty).
    """
    catalog_columns = _columns(con, "rawcat", "main", table)
    if not catalog_columns:
        con.execute(f"drop table if exists raw.{table}")
        return "absent"
    stamp = GROWING_RAW_TABLES.get(table)
    if stamp and _columns(con, _current_database(con), "raw", table) == catalog_columns:
        newest = con.execute(f"select max({stamp}) from raw.{table}").fetchall()[0][0]
        # A constant bound (not a subquery) lets DuckDB skip the catalog's older row groups.
        if newest is None:
            con.execute(f"insert into raw.{table} select * from rawcat.{table}")
        else:
            con.execute(f"insert into raw.{table} select * from rawcat.{table} where {stamp} > ?", [newest])
        # The append is only right if the catalog really just grew: anything else (a table rebuilt
        # by hand, a restored older warehouse) shows as a count mismatch and gets a full copy.
        audit_rows = con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
        catalog_rows = con.execute(f"select count(*) from rawcat.{table}").fetchall()[0][0]
        if audit_rows == catalog_rows:
            return "appended"
        log.info(
            "raw.%s: %d rows after appending, the catalog has %d: copying it whole", table, audit_rows, catalog_rows
        )
    con.execute(f"create or replace table raw.{table} as select * from rawcat.{table}")
    return "copied"


def _drop_statistics_tables(con: duckdb.DuckDBPyConnection) -> None:
    present = {
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [DBT_STAGING_SCHEMA]
        ).fetchall()
    }
    dropped = [name for name in STATISTICS_INCREMENTAL_MODELS if name in present]
    for name in dropped:
        con.execute(f'drop table {DBT_STAGING_SCHEMA}."{name}"')
    if dropped:
        log.warning(
            "raw observations or flows did not just grow since the last build: %s rebuilt from every row",
            ", ".join(dropped),
        )


def _current_database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchall()[0][0]


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        """select column_name, data_type from duckdb_columns()
           where database_name = ? and schema_name = ? and table_name = ?
           order by column_index""",
        [database, schema, table],
    ).fetchall()


def transform(home: Home | None = None, *, full_refresh: bool = False, select: str | None = None) -> dict:
    """Build the audit warehouse: raw copies, then `dbt build` (seeds, models, tests, unit tests).

    `select` is a dbt selector (e.g. `+fct_student_mobility`). Raises `TransformError` naming the
    failing nodes when any model, seed or test fails. Returns counts of models and tests, row
    counts of every mart and the elapsed seconds.
    """
    home = home or Home.from_env()
    started = time.monotonic()
    raw_counts = prepare_audit(home)
    summary = run_dbt(home, select=select, full_refresh=full_refresh)
    summary["raw_rows"] = raw_counts
    summary["seconds"] = round(time.monotonic() - started, 2)
    log.info("transform: %s", summary)
    return summary


def run_dbt(home: Home, *, select: str | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """`dbt build` into the audit copy `prepare_audit` made; the second half of `transform`.

    The Airflow warehouse DAG runs the two halves as separate tasks (this one only when it has no
    pre-built manifest to draw one task per dbt node from). Same errors and summary as `transform`,
    without the raw row counts.
    """
    started = time.monotonic()
    args = ["build", *_common_args(home)]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        # Only tests whose every parent is selected: a relationships test from an unselected mart
        # into a selected dimension would read a table this partial build never made.
        args += ["--select", select, "--indirect-selection", "cautious"]
    results = _invoke_dbt(args, db_path=home.audit, home=home)

    tally = {"models": 0, "seeds": 0, "tests": 0, "unit_tests": 0}
    failed: list[str] = []
    # Advisory tests (unknown figure metric, unmapped geo unit, unlisted source) pass the build
    # but are named in the summary and the log, so an operator sees them without reading dbt.log.
    warnings: list[str] = []
    skipped = 0
    for result in results:
        kind = str(result.node.resource_type)
        key = {"model": "models", "seed": "seeds", "test": "tests", "unit_test": "unit_tests"}.get(kind)
        if key:
            tally[key] += 1
        if str(result.status) in FAILED_STATUSES:
            failed.append(f"{result.node.name} ({result.status}: {_first_line(result.message)})")
        elif str(result.status) == "skipped":
            skipped += 1
        elif str(result.status) == "warn":
            warnings.append(f"{result.node.name} ({_first_line(result.message)})")
    if failed:
        raise TransformError(
            f"dbt build failed on {len(failed)} node(s): {'; '.join(failed[:10])}"
            f"{' …' if len(failed) > 10 else ''} ({skipped} downstream node(s) skipped). "
            f"Fix the model or the data, then re-run `eduopen transform`; "
            f"full log: {dbt_dir(home) / 'logs' / 'dbt.log'}",
            failed_nodes=failed,
        )

    for warning in warnings:
        log.warning("dbt warning: %s", warning)
    return {
        **tally,
        "rows": mart_row_counts(home.audit),
        "warnings": warnings,
        "full_refresh": full_refresh,
        "seconds": round(time.monotonic() - started, 2),
    }


def compile_models(home: Home, db_path: Path, work_dir: Path) -> list[CompiledModel]:
    """Seed `db_path` and compile every model against it, as a full refresh would run them.

    Returns the models in dependency order with the SQL dbt would run, so the same transformations
    can run without dbt (the benchmark's floor). `db_path` must hold no model yet: an existing
    relation would compile a model's incremental branch.
    """
    args = _common_args(home, work_dir=work_dir)
    _invoke_dbt(["seed", *args], db_path=db_path, home=home)
    _invoke_dbt(["compile", *args, "--select", "resource_type:model"], db_path=db_path, home=home)
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    ordered: list[CompiledModel] = []
    placed: set[str] = set()

    def place(uid: str) -> None:
        if uid in placed:
            return
        for parent in models[uid]["depends_on"]["nodes"]:
            if parent in models:
                place(parent)
        placed.add(uid)
        node = models[uid]
        ordered.append(CompiledModel(node["schema"], node.get("alias") or node["name"], node["compiled_code"]))

    for uid in sorted(models):
        place(uid)
    return ordered


def mart_row_counts(db_path: Path) -> dict[str, int]:
    """Rows of every table in schema `marts`."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by table_name"
            ).fetchall()
        ]
        return {name: con.execute(f'select count(*) from marts."{name}"').fetchall()[0][0] for name in tables}
    finally:
        con.close()


def generate_docs(home: Home | None = None) -> Path:
    """Run `dbt docs generate` and copy the static site to `home.docs/dbt`; returns that folder.

    Documents the published warehouse when there is one, else the audit copy. dbt works on a
    private copy named `audit.duckdb` (the catalog name the manifest expects), so analysts
    reading the published file are never blocked by a writer.
    """
    home = home or Home.from_env()
    source = home.warehouse if home.warehouse.exists() else home.audit
    if not source.exists():
        raise TransformError("nothing to document: no published or audit warehouse; run `eduopen transform`")
    work = dbt_dir(home) / "docs-db"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db_copy = work / home.audit.name
    shutil.copy2(source, db_copy)
    # Its own target/: dbt's partial-parse cache is keyed on the profile (the database path), so
    # sharing build's target/ would make every transform after a docs run parse from scratch.
    docs_dir = dbt_dir(home) / "docs"
    try:
        _invoke_dbt(["docs", "generate", *_common_args(home, work_dir=docs_dir)], db_path=db_copy, home=home)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    target = docs_dir / "target"
    out = home.docs / "dbt"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "catalog.json", "manifest.json"):
        produced = target / name
        if not produced.exists():
            raise TransformError(f"dbt docs generate did not write {name}; see {docs_dir / 'logs'}")
        shutil.copy2(produced, out / name)
    return out


# -- internals ------------------------------------------------------------------------------


def _common_args(home: Home, *, work_dir: Path | None = None) -> list[str]:
    work_dir = work_dir or dbt_dir(home)
    return [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--quiet",
    ]


def _invoke_dbt(args: list[str], *, db_path: Path, home: Home) -> list[Any]:
    """Run dbt in-process; return its node results or raise TransformError."""
    # Imported here: dbt is a heavy import and DAG files import this module at parse time.
    from dbt.cli.main import dbtRunner

    dbt_dir(home).mkdir(parents=True, exist_ok=True)
    with _env(DBT_DB_PATH.name, str(db_path)):
        try:
            outcome = dbtRunner().invoke(args)
        finally:
            release_dbt_duckdb()
    if outcome.exception is not None:
        raise TransformError(
            f"dbt {args[0]} could not run: {_first_line(str(outcome.exception))}"
        ) from outcome.exception
    result = outcome.result
    nodes = list(getattr(result, "results", None) or [])
    if not outcome.success and not any(str(r.status) in FAILED_STATUSES for r in nodes):
        raise TransformError(f"dbt {args[0]} failed; see {dbt_dir(home) / 'logs' / 'dbt.log'}")
    return nodes


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def release_dbt_duckdb() -> None:
    """Close dbt-duckdb's cached database handle so the audit file is free for the next writer.

    dbt-duckdb keeps one environment per process in a class attribute and only drops it at exit;
    the validate and publish steps (same process under the CLI, or under `airflow dags test`)
    must not find the file open.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a hard dependency
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


def _remove_database(path: Path) -> None:
    # A stale write-ahead log next to a fresh copy would be replayed into it.
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else ""
