"""The audit copy: where a build starts, before dbt runs into it.

Write–audit–publish: analysts read `warehouse.duckdb`; a build only ever writes `audit.duckdb`.
The audit copy starts from the published warehouse (so incremental models continue from what
analysts see) and gets the raw catalog's tables, appending only what is new where a table only
ever grows.

The caller holds the home's writer lock (`eduopen.pipeline`).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import duckdb

from eduopen.core.config import duckdb_config
from eduopen.core.paths import Home
from eduopen.warehouse.dbt import ModelRelation, list_models
from eduopen.warehouse.manifest import project_fingerprint
from ingest.raw_store import RAW_TABLES, SCHEMA

log = logging.getLogger("eduopen.transform")

# Raw tables that only ever grow, each with the column every load stamps in increasing order
# (under the home's writer lock): the audit copy, which already holds what the last build read,
# takes only the rows beyond its newest. release_version is not here: a feed entry's new version
# keeps the first version's first_seen_at.
GROWING_RAW_TABLES: dict[str, str] = {
    "fetch_log": "fetch_id",
    "observation": "loaded_at",
    "flow_observation": "loaded_at",
}
# dbt tag of the incremental models that, on the same premise, read only the statistics rows
# loaded after the newest they hold (dbt_project/macros/observations.sql, statistics_watermark).
# When the catalog's observations or flows did not just grow since the last build (a row stamped
# before its newest, a catalog restored from elsewhere), their tables are dropped from the audit
# copy: dbt then builds them again from every row instead of missing the ones stamped too early.
STATISTICS_INCREMENTAL_TAG = "statistics_incremental"
STATISTICS_RAW_TABLES = ("observation", "flow_observation")
# project fingerprint -> the tagged models' relations
_tagged_models: dict[str, list[ModelRelation]] = {}


def prepare_audit(home: Home) -> dict[str, int]:
    """Start the audit copy from the published warehouse (or empty) and bring its raw tables up to
    the catalog's.

    Returns the number of rows in each raw table of the audit copy.
    """
    home.ensure()
    if home.warehouse.exists() and _is_published_copy(home.audit, home.warehouse):
        log.info("audit copy: %s is the published file, unchanged since; not copied again", home.audit)
    elif home.warehouse.exists():
        _remove_database(home.audit)
        # Copy under a temp name and rename: a crash never leaves a half-copied audit file.
        tmp = home.audit.with_name(f".{home.audit.name}.copying")
        shutil.copy2(home.warehouse, tmp)
        # A WAL left by an unclean close holds committed data: bring it along, DuckDB replays it.
        wal = Path(f"{home.warehouse}.wal")
        if wal.exists():
            shutil.copy2(wal, f"{home.audit}.wal")
        os.replace(tmp, home.audit)
    else:
        _remove_database(home.audit)

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
                _drop_statistics_tables(con, home)
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

    Returns how: "appended" (only the catalog's newer rows were added), "unchanged" (the same
    rows already), "copied" (the whole table) or "absent" (the catalog has no such table; the
    caller creates it empty).
    """
    catalog_columns = _columns(con, "rawcat", "main", table)
    if not catalog_columns:
        con.execute(f"drop table if exists raw.{table}")
        return "absent"
    stamp = GROWING_RAW_TABLES.get(table)
    same_columns = _columns(con, _current_database(con), "raw", table) == catalog_columns
    if not stamp and same_columns:
        # Rewriting an unchanged table would cost as much as the copy and change the file for nothing.
        if raw_table_fingerprint(con, f"raw.{table}", table) == raw_table_fingerprint(con, f"rawcat.{table}", table):
            return "unchanged"
    if stamp and same_columns:
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


def raw_table_fingerprint(con: duckdb.DuckDBPyConnection, relation: str, table: str) -> list[int | str]:
    """[rows, what identifies their content] of `relation`, a copy of the raw table `table`.

    A table of `GROWING_RAW_TABLES` is identified by its rows and newest stamp, the premise the
    append above already rests on; any other by an order-independent hash of every row (a sum,
    not an xor: two identical rows must not cancel out).
    """
    stamp = GROWING_RAW_TABLES.get(table)
    content = f"max({stamp})::varchar" if stamp else "coalesce(sum(hash(*columns(*))), 0)::varchar"
    rows, identity = con.execute(f"select count(*), {content} from {relation}").fetchall()[0]
    return [rows, identity]


def statistics_incremental_models(home: Home) -> list[ModelRelation]:
    """The relations of the models tagged `STATISTICS_INCREMENTAL_TAG` in the dbt project.

    Asks dbt (a parse: seconds) once per state of the project files in this process.
    """
    fingerprint = project_fingerprint()
    if fingerprint not in _tagged_models:
        _tagged_models[fingerprint] = list_models(home, f"tag:{STATISTICS_INCREMENTAL_TAG}")
    return list(_tagged_models[fingerprint])


def _drop_statistics_tables(con: duckdb.DuckDBPyConnection, home: Home) -> None:
    built = set(
        con.execute("select schema_name, table_name from duckdb_tables() where schema_name <> 'raw'").fetchall()
    )
    if not built:
        return  # nothing dbt built yet: no need to ask it which models to drop
    dropped = [model for model in statistics_incremental_models(home) if tuple(model) in built]
    for model in dropped:
        con.execute(f'drop table "{model.schema}"."{model.name}"')
    if dropped:
        log.warning(
            "raw observations or flows did not just grow since the last build: %s rebuilt from every row",
            ", ".join(model.name for model in dropped),
        )


def _current_database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchall()[0][0]


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list[tuple[str, str]]:
    """The table's (column, type) in order; [] when there is no such table.

    One table's info, not `duckdb_columns()`: the first scan of that lists every column of every
    attached database, which took longer than the whole rest of an audit copy with nothing new.
    """
    try:
        return con.execute(
            "select name, type from pragma_table_info(?) order by cid", [f'"{database}"."{schema}"."{table}"']
        ).fetchall()
    except duckdb.CatalogException:
        return []


def _is_published_copy(audit: Path, published: Path) -> bool:
    """Whether the audit file still is the file the publish step made the warehouse from.

    Publish copies the audit file with its modification time, and any write to either file moves
    that file's time on: the same size and time, to the nanosecond, and no write-ahead log beside
    either, mean the same bytes (the test rsync makes).
    """
    if not audit.exists() or Path(f"{audit}.wal").exists() or Path(f"{published}.wal").exists():
        return False
    ours, theirs = audit.stat(), published.stat()
    return ours.st_size == theirs.st_size and ours.st_mtime_ns == theirs.st_mtime_ns


def _remove_database(path: Path) -> None:
    # A stale write-ahead log next to a fresh copy would be replayed into it.
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
