"""The audit copy the transform step prepares before dbt runs (no dbt here: see integration)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from eduopen.core.paths import PROJECT_DIR, Home
from eduopen.warehouse.audit import prepare_audit, statistics_incremental_models
from eduopen.warehouse.build import mart_row_counts
from ingest.raw_store import RAW_TABLES, RawStore

SEEN = datetime(2026, 7, 19, 2, 0, tzinfo=UTC)


def _release(url: str, sha: str, title: str) -> dict:
    return dict(
        source="moe_zh", url=url, content_sha256=sha, language="zh", title=title, published_at=SEEN, first_seen_at=SEEN
    )


def _observation(geo: str, year: int, value: float, loaded_at: datetime) -> dict:
    return dict(
        source="uis",
        indicator_id="26637",
        geo_unit=geo,
        year=year,
        value=value,
        batch_sha256=f"b-{loaded_at:%Y%m%d}",
        loaded_at=loaded_at,
    )


def _published_after_loading(home: Home, rows: list[dict]) -> None:
    """Ingest `rows`, then what a build and a publish leave behind: the warehouse holds the raw copy."""
    with RawStore(home) as store:
        store.insert_rows("observation", rows)
    prepare_audit(home)
    shutil.copy2(home.audit, home.warehouse)


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _write(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def test_audit_starts_from_the_published_warehouse(home: Home) -> None:
    _write(home.warehouse, "create schema marts", "create table marts.fct_x as select 42 as answer")

    prepare_audit(home)

    assert _query(home.audit, "select answer from marts.fct_x") == [(42,)]
    assert _query(home.warehouse, "select answer from marts.fct_x") == [(42,)]


def test_raw_tables_are_replaced_by_the_catalog_contents(home: Home) -> None:
    # The published warehouse still holds last run's raw copy; the catalog has moved on.
    _write(home.warehouse, "create schema raw", "create table raw.release_version as select 'http://old' as url")
    with RawStore(home) as store:
        store.insert_rows("release_version", [_release("http://new/a.html", "s1", "教育部召开会议")])

    counts = prepare_audit(home)

    assert _query(home.audit, "select url, title from raw.release_version") == [("http://new/a.html", "教育部召开会议")]
    assert counts["release_version"] == 1


def test_a_growing_raw_table_takes_only_the_rows_loaded_since_the_published_copy(home: Home) -> None:
    _published_after_loading(home, [_observation("CHN", 2022, 210903, SEEN)])
    # A mark on the published copy's row: it survives only if that row is not copied again.
    _write(home.warehouse, "update raw.observation set value_raw = 'published copy'")
    later = SEEN + timedelta(days=1)
    with RawStore(home) as store:
        store.insert_rows("observation", [_observation("CHN", 2023, 200892, later)])

    counts = prepare_audit(home)

    assert _query(home.audit, "select year, value_raw from raw.observation order by year") == [
        (2022, "published copy"),
        (2023, None),
    ]
    assert counts["observation"] == 2


def test_nothing_new_leaves_the_audit_file_the_warehouse_was_published_from_untouched(home: Home) -> None:
    # Copying the published file and rewriting raw tables the catalog did not change would cost
    # what a build with nothing new should not (and make a new file for the gate to hash).
    with RawStore(home) as store:
        store.insert_rows("release_version", [_release("http://new/a.html", "s1", "教育部召开会议")])
    _published_after_loading(home, [_observation("CHN", 2022, 210903, SEEN)])
    before = home.audit.stat()

    counts = prepare_audit(home)

    after = home.audit.stat()
    # ctime too: a copy renamed into place may get the freed inode number and the copied mtime back
    assert (after.st_ino, after.st_ctime_ns, after.st_mtime_ns) == (
        before.st_ino,
        before.st_ctime_ns,
        before.st_mtime_ns,
    )
    assert counts["release_version"] == 1 and counts["observation"] == 1


def test_a_raw_table_that_did_not_just_grow_is_copied_whole(home: Home) -> None:
    _published_after_loading(home, [_observation("CHN", 2022, 210903, SEEN)])
    # The published copy holds a row the catalog does not (say, a warehouse restored from another
    # home): appending what is newer would keep it, so the counts disagree and the table is copied.
    _write(
        home.warehouse,
        "insert into raw.observation (source, indicator_id, geo_unit, year, batch_sha256, "
        "loaded_at) values ('uis', '26637', 'USA', 2022, 'elsewhere', timestamptz '2020-01-01')",
    )
    with RawStore(home) as store:
        store.insert_rows("observation", [_observation("CHN", 2023, 200892, SEEN + timedelta(days=1))])

    counts = prepare_audit(home)

    assert _query(home.audit, "select geo_unit, year from raw.observation order by year") == [
        ("CHN", 2022),
        ("CHN", 2023),
    ]
    assert counts["observation"] == 2


def test_statistics_tables_are_dropped_when_the_observations_did_not_just_grow(home: Home) -> None:
    _published_after_loading(home, [_observation("CHN", 2022, 210903, SEEN)])
    _write(
        home.warehouse,
        "create schema staging",
        "create table staging.stg_uis__observations as select 1 as x",
        "create table staging.int_observations_unified as select 1 as x",
        "create table staging.stg_uis__flows as select 1 as x",
        "create table staging.stg_raw__release_versions as select 1 as x",
    )
    # stamped before the newest row of the last build: an incremental model would never read it
    with RawStore(home) as store:
        store.insert_rows("observation", [_observation("USA", 2022, 948519, SEEN - timedelta(days=1))])

    prepare_audit(home)

    staging = {
        row[0] for row in _query(home.audit, "select table_name from duckdb_tables() where schema_name = 'staging'")
    }
    assert staging == {"stg_raw__release_versions"}
    assert _query(home.audit, "select count(*) from raw.observation") == [(2,)]


def test_statistics_tables_are_kept_when_the_observations_just_grew(home: Home) -> None:
    _published_after_loading(home, [_observation("CHN", 2022, 210903, SEEN)])
    _write(home.warehouse, "create schema staging", "create table staging.stg_uis__observations as select 1 as x")
    with RawStore(home) as store:
        store.insert_rows("observation", [_observation("USA", 2022, 948519, SEEN + timedelta(days=1))])

    prepare_audit(home)

    assert _query(home.audit, "select x from staging.stg_uis__observations") == [(1,)]


def test_the_dropped_statistics_tables_are_every_dbt_model_that_reads_only_new_rows(home: Home) -> None:
    # A model reads only new statistics rows through stage_observations(..., incremental=...) or
    # statistics_watermark(); each must carry the tag prepare_audit drops by, and nothing else may.
    models = PROJECT_DIR / "dbt_project" / "models"
    reading_new_rows = {
        path.stem
        for path in models.rglob("*.sql")
        if "incremental=is_incremental()" in (text := path.read_text(encoding="utf-8"))
        or "statistics_watermark()" in text
    }
    tagged = statistics_incremental_models(home)
    assert {model.name for model in tagged} == reading_new_rows
    assert "stg_uis__observations" in reading_new_rows and "int_mobility_flows" in reading_new_rows


def test_a_raw_table_whose_columns_changed_is_copied_whole(home: Home) -> None:
    # A warehouse published by an older EduOpen, before a column was added to the raw table.
    _write(
        home.warehouse, "create schema raw", "create table raw.observation as select 'uis' as source, 'CHN' as geo_unit"
    )
    with RawStore(home) as store:
        store.insert_rows("observation", [_observation("CHN", 2022, 210903, SEEN)])

    prepare_audit(home)

    assert _query(home.audit, "select geo_unit, year, value from raw.observation") == [("CHN", 2022, 210903.0)]


def test_every_raw_table_exists_even_without_a_catalog(home: Home) -> None:
    assert not home.catalog.exists()

    counts = prepare_audit(home)

    tables = {row[0] for row in _query(home.audit, "select table_name from duckdb_tables() where schema_name = 'raw'")}
    assert set(RAW_TABLES) <= tables
    assert set(counts.values()) == {0}
    columns = [
        row[0]
        for row in _query(
            home.audit,
            "select column_name from duckdb_columns() where schema_name = 'raw' "
            "and table_name = 'observation' order by column_index",
        )
    ]
    assert columns[:4] == ["source", "indicator_id", "geo_unit", "year"]


def test_previous_unpublished_audit_is_discarded_when_nothing_is_published(home: Home) -> None:
    _write(home.audit, "create schema marts", "create table marts.rejected as select 1 as x")

    prepare_audit(home)

    assert _query(home.audit, "select count(*) from duckdb_tables() where table_name = 'rejected'") == [(0,)]


def test_stale_write_ahead_log_of_the_old_audit_is_removed(home: Home) -> None:
    _write(home.warehouse, "create table published as select 1 as x")
    wal = Path(f"{home.audit}.wal")
    wal.write_bytes(b"left behind by a crashed writer")

    prepare_audit(home)

    assert not wal.exists()
    assert _query(home.audit, "select x from published") == [(1,)]


def test_audit_file_is_closed_after_preparation(home: Home) -> None:
    prepare_audit(home)

    # A read-write open succeeds only if no connection (of any config) still holds the file.
    con = duckdb.connect(str(home.audit))
    con.close()


def test_catalog_rows_keep_chinese_text_byte_for_byte(home: Home) -> None:
    title = "教育部关于印发《推进共建“一带一路”教育行动》的通知"
    with RawStore(home) as store:
        store.insert_rows("release_version", [_release("http://www.moe.gov.cn/a.html", "s1", title)])

    prepare_audit(home)

    assert _query(home.audit, "select title from raw.release_version") == [(title,)]


def test_mart_row_counts_cover_every_mart_table(tmp_path: Path) -> None:
    db = tmp_path / "audit.duckdb"
    _write(
        db,
        "create schema marts",
        "create table marts.a as select * from range(3)",
        "create table marts.b as select 1 as x where false",
        "create table main.c as select 1",
    )

    assert mart_row_counts(db) == {"a": 3, "b": 0}


def test_published_data_still_in_the_write_ahead_log_is_carried_over(home: Home) -> None:
    # Simulate a publisher that exited without a checkpoint: data sits in warehouse.duckdb.wal.
    con = duckdb.connect(str(home.warehouse))
    con.execute("set checkpoint_threshold = '1GB'")
    con.execute("pragma disable_checkpoint_on_shutdown")
    con.execute("create table published as select 7 as x")
    con.close()
    if not Path(f"{home.warehouse}.wal").exists():
        pytest.skip("this DuckDB build checkpointed on close; nothing to carry over")

    prepare_audit(home)

    assert _query(home.audit, "select x from published") == [(7,)]
