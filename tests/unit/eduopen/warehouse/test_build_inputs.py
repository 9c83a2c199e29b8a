"""The record a complete dbt build leaves in its file: what changed since, or nothing (no dbt here)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from eduopen.warehouse import build_inputs


def _write(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    """A file as a build leaves it (raw sources, a table not read by dbt, built tables), its manifest."""
    db = tmp_path / "audit.duckdb"
    _write(
        db,
        "create schema raw",
        "create schema marts",
        "create table raw.release_version as select range as id, 'v' || range as value from range(100)",
        "create table raw.observation as select range as id, timestamp '2026-01-01' + to_days(range::int) "
        "as loaded_at from range(50)",
        "create table raw.fetch_log as select range as fetch_id from range(3)",
        "create table marts.fct_x as select id, value from raw.release_version",
    )
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "sources": {
                    "source.eduopen.raw.release_version": {
                        "source_name": "raw",
                        "schema": "raw",
                        "name": "release_version",
                    },
                    "source.eduopen.raw.observation": {
                        "source_name": "raw",
                        "schema": "raw",
                        "name": "observation",
                        "identifier": None,
                    },
                    "source.eduopen.raw.figures": {
                        "source_name": "raw",
                        "schema": "raw",
                        "name": "figures",
                        "identifier": "release_figure",
                    },
                }
            }
        ),
        encoding="utf-8",
    )
    build_inputs.record(db, manifest, project=build_inputs.project_fingerprint(), warnings=["advisory (2 rows)"])
    return db, manifest


def test_nothing_changed_gives_back_the_last_builds_record(built: tuple[Path, Path]) -> None:
    db, _ = built

    since = build_inputs.since_last_build(db)

    assert since is not None and since.changed_sources == []
    previous = since.previous
    assert set(previous.sources) == {"raw.release_version", "raw.observation", "raw.release_figure"}
    assert previous.sources["raw.release_figure"] == ["absent"]
    # a table that only ever grows is known by its rows and newest stamp
    assert previous.sources["raw.observation"] == [50, "2026-02-19 00:00:00"]
    assert previous.built_rows == {"marts.fct_x": 100}
    assert previous.warnings == ["advisory (2 rows)"]


def test_a_raw_table_dbt_does_not_read_may_change(built: tuple[Path, Path]) -> None:
    db, _ = built
    _write(db, "insert into raw.fetch_log values (4)")

    since = build_inputs.since_last_build(db)

    assert since is not None and since.changed_sources == []


@pytest.mark.parametrize(
    ("change", "changed", "selector"),
    [
        ("insert into raw.release_version values (100, 'v100')", "raw.release_version", "source:raw.release_version+"),
        # same row count, one value changed
        (
            "update raw.release_version set value = 'x' where id = 7",
            "raw.release_version",
            "source:raw.release_version+",
        ),
        # two rows swap values: the same multiset of values, different rows
        (
            "update raw.release_version set value = case id when 1 then 'v2' when 2 then 'v1' else value end",
            "raw.release_version",
            "source:raw.release_version+",
        ),
        (
            "insert into raw.observation values (50, timestamp '2026-12-01')",
            "raw.observation",
            "source:raw.observation+",
        ),
        ("create table raw.release_figure (metric varchar)", "raw.release_figure", "source:raw.figures+"),
    ],
)
def test_a_changed_raw_source_is_named_with_what_it_feeds(
    built: tuple[Path, Path], change: str, changed: str, selector: str
) -> None:
    db, _ = built
    _write(db, change)

    since = build_inputs.since_last_build(db)

    assert since is not None
    assert since.changed_sources == [changed]
    assert since.selector() == selector


@pytest.mark.parametrize(
    "change",
    [
        # a duplicate added to a built table by hand
        "insert into marts.fct_x select * from marts.fct_x limit 1",
        "create table marts.fct_y as select 1 as one",
        "drop table marts.fct_x",
    ],
)
def test_built_tables_not_as_the_last_build_left_them_mean_a_complete_build(
    built: tuple[Path, Path], change: str
) -> None:
    db, _ = built
    _write(db, change)

    assert build_inputs.since_last_build(db) is None


def test_a_changed_project_means_a_complete_build(built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = built
    monkeypatch.setattr(build_inputs, "project_fingerprint", lambda: "edited")

    assert build_inputs.since_last_build(db) is None


def test_another_dbt_or_duckdb_version_means_a_complete_build(
    built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = built
    monkeypatch.setattr(build_inputs, "tool_versions", lambda: {"dbt-core": "0.0.1"})

    assert build_inputs.since_last_build(db) is None


def test_a_forgotten_record_means_a_complete_build(built: tuple[Path, Path]) -> None:
    db, _ = built

    build_inputs.forget(db)

    assert build_inputs.since_last_build(db) is None


def test_a_file_no_build_recorded_in_means_a_complete_build(tmp_path: Path) -> None:
    db = tmp_path / "audit.duckdb"
    _write(db, "create table t as select 1 as one")

    assert build_inputs.since_last_build(db) is None
