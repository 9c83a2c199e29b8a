"""`dbt source freshness` on a published warehouse whose raw loads are old: the stale sources are named.

The warehouse is tiny and synthetic: the raw tables' own DDL (ingest/raw_store.py) with a row or
two each, stamped relative to now; freshness reads only the raw schema, so no model is built.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from eduopen.core.paths import Home
from eduopen.warehouse.freshness import FreshnessError, StaleSources, check_freshness, require_fresh
from ingest.raw_store import SCHEMA

NOW = datetime.now(UTC)
OLD_RELEASE = NOW - timedelta(days=40)


def _published(root: Path, *, release_seen: datetime, uis_loaded: datetime) -> Home:
    home = Home(root).ensure()
    con = duckdb.connect(str(home.warehouse))
    try:
        con.execute("create schema raw; use raw")
        con.execute(SCHEMA)
        con.execute(
            "insert into release_version (source, url, content_sha256, language, title, first_seen_at) "
            "values ('moe_zh', 'https://www.moe.gov.cn/a.html', 'c0', 'zh', 'a release', ?)",
            [release_seen],
        )
        con.execute(
            "insert into observation (source, indicator_id, geo_unit, year, batch_sha256, loaded_at) "
            "values ('uis', '26637', 'CHN', 2020, 'b0', ?)",
            [uis_loaded],
        )
        con.execute(
            "insert into cooperative_record (source, url, content_sha256, record_kind, level, list_status, name, "
            "foreign_partners, raw_sha256, first_seen_at) values ('cfcrs', 'http://www.crs.jsj.edu.cn/aproval/"
            "detail/1', 'k0', 'institution', 'undergraduate', 'approved', 'an entry', '[]', 'r0', ?)",
            [NOW - timedelta(hours=1)],
        )
        con.execute(
            "insert into fetch_log (source, url, status, fetched_at) "
            "values ('moe_zh', 'https://www.moe.gov.cn/', 200, ?)",
            [NOW - timedelta(hours=1)],
        )
    finally:
        con.close()
    return home


def test_old_loads_are_reported_stale_with_their_last_load_and_the_published_file_is_untouched(
    tmp_path: Path,
) -> None:
    # release_version warns after 14 days; UIS observations are allowed 45 days.
    home = _published(tmp_path / "home", release_seen=OLD_RELEASE, uis_loaded=NOW - timedelta(days=10))
    before = hashlib.sha256(home.warehouse.read_bytes()).hexdigest()

    report = check_freshness(home)

    by_name = {item.source: item for item in report.sources}
    assert by_name["raw.release_version"].status == "warn"
    assert by_name["raw.release_version"].max_loaded_at == OLD_RELEASE
    assert by_name["raw.release_version"].warn_after == "14 days"
    assert by_name["raw.observation"].status == "pass"
    assert by_name["raw.fetch_log"].status == "pass"
    assert by_name["raw.cooperative_record"].status == "pass"
    # No flow rows at all: never loaded, so stale.
    assert by_name["raw.flow_observation"].status == "warn"
    assert by_name["raw.flow_observation"].max_loaded_at is None
    assert [item.source for item in report.stale] == ["raw.flow_observation", "raw.release_version"]
    assert report.warned == report.stale and report.errored == []
    # Sources without declared freshness are not checked.
    assert "raw.release_figure" not in by_name
    assert hashlib.sha256(home.warehouse.read_bytes()).hexdigest() == before

    with pytest.raises(StaleSources) as raised:
        require_fresh(home)
    message = str(raised.value)
    assert "2 sources are stale" in message
    assert f"raw.release_version (warn): last loaded {OLD_RELEASE:%Y-%m-%d %H:%M} UTC, 40.0 days ago" in message
    assert "raw.flow_observation (warn): never loaded" in message
    assert [item.source for item in raised.value.report.stale] == [item.source for item in report.stale]


def test_a_publisher_past_its_own_limit_makes_its_table_stale(tmp_path: Path) -> None:
    home = _published(tmp_path / "home", release_seen=NOW - timedelta(days=1), uis_loaded=NOW - timedelta(days=50))
    report = check_freshness(home)
    observation = next(item for item in report.sources if item.source == "raw.observation")
    assert observation.status == "warn" and observation.by_query
    assert "(by its loaded_at_query)" in observation.describe()
    assert "raw.release_version" not in [item.source for item in report.stale]


def test_without_a_published_warehouse_there_is_nothing_to_check(tmp_path: Path) -> None:
    with pytest.raises(FreshnessError, match="no published warehouse"):
        check_freshness(Home(tmp_path / "home").ensure())


def test_eduopen_freshness_prints_the_report_and_fails_when_a_source_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from eduopen.cli import main
    from eduopen.core.errors import ExitCode

    home = _published(tmp_path / "home", release_seen=OLD_RELEASE, uis_loaded=NOW - timedelta(days=10))
    monkeypatch.setenv("EDUOPEN_HOME", str(home.root))
    assert main(["freshness"]) == ExitCode.SOURCES_STALE
    out = capsys.readouterr()
    assert json.loads(out.out)["stale"] == ["raw.flow_observation", "raw.release_version"]
    assert "StaleSources: 2 sources are stale" in " ".join(out.err.split())
