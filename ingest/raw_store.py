"""The raw layer: every response body kept once, content-addressed, and the tables parsed from it.

Blobs live under `raw/blobs/ab/abcdef…` (sha256 of the bytes), written atomically (temp file +
rename), never modified. The catalog (`raw/catalog.duckdb`) holds the fetch log, the parsed raw
tables, cursors and the quarantine; every parsed row carries the sha256 of the bytes it came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from eduopen.core.files import atomic_write, sha256_hex
from eduopen.core.paths import Home

# The raw tables' DDL is the contract between the sources (writers) and dbt (reader).
SCHEMA = """
create sequence if not exists fetch_id_seq;
create table if not exists fetch_log (
    fetch_id bigint primary key default nextval('fetch_id_seq'),
    source varchar not null,
    url varchar not null,
    status integer not null,
    bytes bigint,
    sha256 varchar,
    etag varchar,
    last_modified varchar,
    content_type varchar,
    conditional boolean not null default false,
    not_modified boolean not null default false,
    attempts integer not null default 1,
    fetched_at timestamptz not null,
    elapsed_s double
);
create table if not exists release_version (
    source varchar not null,
    url varchar not null,
    content_sha256 varchar not null,
    language varchar not null,
    title varchar not null,
    published_at timestamptz,
    body_text varchar,
    issuing_body varchar,
    document_number varchar,
    content_source varchar,
    listing_column varchar,
    attachments json,
    first_seen_at timestamptz not null,
    primary key (url, content_sha256)
);
create table if not exists release_figure (
    source varchar not null,
    url varchar not null,
    content_sha256 varchar not null,
    figure_index integer not null,
    metric varchar not null,
    value double not null,
    unit varchar,
    qualifier varchar not null default 'exact',
    period_year integer,
    sentence varchar not null,
    primary key (url, content_sha256, figure_index)
);
create table if not exists release_statistic (
    source varchar not null,
    url varchar not null,
    content_sha256 varchar not null,
    row_index integer not null,
    period_year integer,
    measure varchar not null,
    breakdown varchar not null,
    member varchar not null,
    value double not null,
    unit varchar not null,
    qualifier varchar not null,
    sentence varchar not null,
    primary key (url, content_sha256, row_index)
);
create table if not exists observation (
    source varchar not null,
    indicator_id varchar not null,
    geo_unit varchar not null,
    year integer not null,
    value double,
    value_raw varchar,
    magnitude varchar,
    qualifier varchar,
    data_version varchar,
    batch_sha256 varchar not null,
    loaded_at timestamptz not null,
    primary key (source, indicator_id, geo_unit, year, batch_sha256)
);
create table if not exists flow_observation (
    source varchar not null,
    indicator_id varchar not null,
    origin varchar not null,
    destination varchar not null,
    year integer not null,
    value double,
    value_raw varchar,
    magnitude varchar,
    qualifier varchar,
    data_version varchar,
    batch_sha256 varchar not null,
    loaded_at timestamptz not null,
    primary key (source, indicator_id, origin, destination, year, batch_sha256)
);
-- Sino-foreign cooperative education (the `cfcrs` source): one row per version of one entry of
-- the Ministry's register, an approved institution or programme or one on the lists of those that
-- ended, as its detail page published it. A changed entry is a new row (a new content_sha256).
create table if not exists cooperative_record (
    source varchar not null,
    url varchar not null,
    content_sha256 varchar not null,
    record_kind varchar not null,
    level varchar not null,
    list_status varchar not null,
    province varchar,
    name varchar not null,
    chinese_partner varchar,
    foreign_partners json not null,
    approval_number varchar,
    approval_date date,
    ended_date date,
    list_url varchar,
    raw_sha256 varchar not null,
    first_seen_at timestamptz not null,
    primary key (url, content_sha256)
);
create table if not exists landing_file (
    file_name varchar not null,
    sha256 varchar not null,
    detected_format varchar,
    status varchar not null,
    rows_loaded integer,
    reason varchar,
    processed_at timestamptz not null,
    primary key (sha256)
);
create table if not exists indicator_definition (
    source varchar not null,
    indicator_id varchar not null,
    name varchar,
    theme varchar,
    last_data_update varchar,
    batch_sha256 varchar not null,
    primary key (source, indicator_id)
);
create table if not exists geo_unit_definition (
    source varchar not null,
    geo_unit varchar not null,
    name varchar,
    geo_unit_type varchar,
    batch_sha256 varchar not null,
    primary key (source, geo_unit)
);
create table if not exists source_cursor (
    source varchar not null,
    cursor_key varchar not null,
    cursor_value varchar,
    updated_at timestamptz not null,
    primary key (source, cursor_key)
);
create table if not exists quarantine (
    source varchar not null,
    locator varchar not null,
    reason varchar not null,
    sha256 varchar,
    detail varchar,
    detected_at timestamptz not null
);
-- Crawler state, not data (not in RAW_TABLES): the robots.txt last read from each origin, so the
-- next run asks for it conditionally.
create table if not exists robots_txt (
    origin varchar primary key,
    sha256 varchar not null,
    etag varchar,
    last_modified varchar,
    content_type varchar,
    fetched_at timestamptz not null
);
"""

RAW_TABLES: Sequence[str] = (
    "fetch_log",
    "release_version",
    "release_figure",
    "release_statistic",
    "observation",
    "flow_observation",
    "cooperative_record",
    "landing_file",
    "indicator_definition",
    "geo_unit_definition",
    "source_cursor",
    "quarantine",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Validators:
    """What we last saw of a URL, for a conditional GET."""

    sha256: str
    etag: str | None
    last_modified: str | None
    # A 304 usually omits Content-Type; the charset of the stored body is in the 200 we logged.
    content_type: str | None = None


def upgrade_catalog(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a catalog written by an older release to today's DDL in place, keeping every row.

    release_figure's `year` was the publication-or-stated year: it becomes `period_year`, and every
    figure read before qualifiers were recorded counts as stated exactly until it is read again.
    """
    columns = {
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where table_name = 'release_figure' "
            "and database_name = current_database()"
        ).fetchall()
    }
    if "year" in columns and "period_year" not in columns:
        con.execute("alter table release_figure rename column year to period_year")
    if "qualifier" not in columns:
        con.execute("alter table release_figure add column qualifier varchar default 'exact'")
        con.execute("update release_figure set qualifier = 'exact' where qualifier is null")


class RawStore:
    """Blobs plus the catalog database. One writer at a time (see `eduopen.core.locking`)."""

    def __init__(self, home: Home, *, read_only: bool = False):
        self.home = home
        self.read_only = read_only
        if not read_only:
            home.ensure()
        self._con: duckdb.DuckDBPyConnection | None = None

    # -- connection -------------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(str(self.home.catalog), read_only=self.read_only)
            if not self.read_only:
                self._con.execute(SCHEMA)
                upgrade_catalog(self._con)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> RawStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- blobs ------------------------------------------------------------------------------
    def blob_path(self, sha: str) -> Path:
        return self.home.blobs / sha[:2] / sha

    def put(self, data: bytes) -> str:
        """Keep `data` once; return its sha256. Identical bytes are stored only once."""
        sha = sha256_hex(data)
        path = self.blob_path(sha)
        if not path.exists():
            atomic_write(path, data)
        return sha

    def read(self, sha: str) -> bytes:
        return self.blob_path(sha).read_bytes()

    def has_blob(self, sha: str) -> bool:
        return self.blob_path(sha).exists()

    # -- fetch log --------------------------------------------------------------------------
    def record_fetch(
        self,
        *,
        source: str,
        url: str,
        status: int,
        sha256: str | None,
        nbytes: int | None,
        etag: str | None = None,
        last_modified: str | None = None,
        content_type: str | None = None,
        conditional: bool = False,
        not_modified: bool = False,
        attempts: int = 1,
        elapsed_s: float | None = None,
    ) -> None:
        self.con.execute(
            """insert into fetch_log (source, url, status, bytes, sha256, etag, last_modified,
                   content_type, conditional, not_modified, attempts, fetched_at, elapsed_s)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                source,
                url,
                status,
                nbytes,
                sha256,
                etag,
                last_modified,
                content_type,
                conditional,
                not_modified,
                attempts,
                utcnow(),
                elapsed_s,
            ],
        )

    def validators(self, url: str) -> Validators | None:
        """ETag / Last-Modified of the last successful fetch of `url` whose bytes we still hold."""
        row = self.con.execute(
            """select sha256, etag, last_modified, content_type from fetch_log
               where url = ? and status = 200 and sha256 is not null
               order by fetch_id desc limit 1""",
            [url],
        ).fetchone()
        if row is None or not self.has_blob(row[0]):
            return None
        return Validators(*row)

    # -- robots.txt -------------------------------------------------------------------------
    def robots_validators(self, origin: str) -> Validators | None:
        """What we last read of `origin`'s robots.txt, while its bytes are still held."""
        row = self.con.execute(
            "select sha256, etag, last_modified, content_type from robots_txt where origin = ?", [origin]
        ).fetchone()
        if row is None or not self.has_blob(row[0]):
            return None
        return Validators(*row)

    def keep_robots(
        self, origin: str, content: bytes, *, etag: str | None, last_modified: str | None, content_type: str | None
    ) -> None:
        sha = self.put(content)
        self.con.execute(
            "insert or replace into robots_txt values (?, ?, ?, ?, ?, ?)",
            [origin, sha, etag, last_modified, content_type, utcnow()],
        )

    # -- cursors ----------------------------------------------------------------------------
    def get_cursor(self, source: str, key: str) -> str | None:
        row = self.con.execute(
            "select cursor_value from source_cursor where source = ? and cursor_key = ?", [source, key]
        ).fetchone()
        return row[0] if row else None

    def set_cursor(self, source: str, key: str, value: str) -> None:
        self.con.execute(
            """insert or replace into source_cursor (source, cursor_key, cursor_value, updated_at)
               values (?, ?, ?, ?)""",
            [source, key, value, utcnow()],
        )

    # -- quarantine -------------------------------------------------------------------------
    def quarantine(
        self, *, source: str, locator: str, reason: str, sha256: str | None = None, detail: Any = None
    ) -> None:
        """Keep a row that says what was refused and why; the bytes stay in the blob store."""
        text = detail if isinstance(detail, str) or detail is None else json.dumps(detail, default=str)
        self.con.execute(
            """insert into quarantine (source, locator, reason, sha256, detail, detected_at)
               values (?, ?, ?, ?, ?, ?)""",
            [source, locator, reason, sha256, text, utcnow()],
        )

    # -- parsed rows ------------------------------------------------------------------------
    def insert_rows(self, table: str, rows: Iterable[dict[str, Any]], *, on_conflict_ignore: bool = True) -> int:
        """Insert dict rows into a raw table; rows already there (same key) are left alone.

        Returns the number of rows that were new.
        """
        rows = list(rows)
        if not rows:
            return 0
        if table not in RAW_TABLES:
            raise ValueError(f"not a raw table: {table}")
        columns = list(rows[0])
        before = self.count(table)
        # Arrow batch insert: executemany is row-at-a-time in DuckDB and far too slow at scale.
        batch = pa.Table.from_pylist(rows)
        self.con.register("_incoming_rows", batch)
        try:
            verb = "insert or ignore" if on_conflict_ignore else "insert"
            cols = ", ".join(columns)
            self.con.execute(f"{verb} into {table} ({cols}) select {cols} from _incoming_rows")
        finally:
            self.con.unregister("_incoming_rows")
        return self.count(table) - before

    def replace_source_rows(self, table: str, source: str, rows: Iterable[dict[str, Any]]) -> int:
        """Swap one source's snapshot table (definitions) for a newer answer, in one transaction."""
        self.con.execute("begin")
        try:
            self.con.execute(f"delete from {table} where source = ?", [source])
            inserted = self.insert_rows(table, rows)
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise
        return inserted

    def count(self, table: str) -> int:
        return self.con.execute(f"select count(*) from {table}").fetchall()[0][0]
