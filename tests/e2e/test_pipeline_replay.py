"""End to end: the whole pipeline against the replayed sources, read back from the published warehouse."""

from __future__ import annotations

import re

import duckdb
import pytest

from demo.run import drop_demo_landing_files
from eduopen import pipeline

pytestmark = pytest.mark.e2e
CJK = re.compile(r"[\u4e00-\u9fff]")


def _published(home, sql, params=()):
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _mart_counts(home):
    tables = [
        t for (t,) in _published(home, "select table_name from duckdb_tables() where schema_name = 'marts' order by 1")
    ]
    return {t: _published(home, f'select count(*) from marts."{t}"')[0][0] for t in tables}


@pytest.fixture(scope="module")
def first_and_second_run(tmp_path_factory):
    """Run the pipeline twice against an unchanged replay; keep what each run asked for."""
    from demo.replay.server import ReplayServer
    from eduopen.core.paths import Home

    mp = pytest.MonkeyPatch()
    home = Home(tmp_path_factory.mktemp("e2e") / "home").ensure()
    mp.setenv("EDUOPEN_HOME", str(home.root))
    mp.setenv("EDUOPEN_MIN_DELAY_S", "0")
    from eduopen.core.config import Settings

    drop_demo_landing_files(home)
    with ReplayServer() as replay:
        missing = replay.unreplayed(Settings.load().network_source_names())
        assert not missing, f"sources without a replay bundle would reach the live web: {missing}"
        for key, value in replay.env().items():
            mp.setenv(key, value)
        first = pipeline.run_pipeline(["all"], home)
        first_counts = _mart_counts(home)
        first_requests = replay.requests()
        replay.reset_log()
        second = pipeline.run_pipeline(["all"], home)
        second_requests = replay.requests()
    yield home, first, first_counts, first_requests, second, second_requests
    mp.undo()


def test_published_releases_keep_chinese_titles_intact(first_and_second_run):
    home = first_and_second_run[0]
    titles = [t for (t,) in _published(home, "select title from marts.fct_policy_release where source = 'moe_zh'")]
    assert len(titles) >= 10
    assert all(CJK.search(t) for t in titles)
    assert not any("\ufffd" in t or "Ã" in t for t in titles), "mojibake in a published title"


def test_published_mobility_has_real_uis_values(first_and_second_run):
    home = first_and_second_run[0]
    rows = dict(
        _published(home, "select year, inbound_students from marts.fct_student_mobility where country_iso3 = 'CHN'")
    )
    # UIS indicator 26637, inbound internationally mobile students in China.
    assert rows[2018] == 178271
    assert rows[2023] == 200892


def test_missing_uis_values_stay_null_in_the_warehouse(first_and_second_run):
    home = first_and_second_run[0]
    (value,) = _published(
        home, "select inbound_students from marts.fct_student_mobility where country_iso3 = 'AFG' and year = 2009"
    )[0]
    assert value is None


def test_regional_aggregates_are_not_countries(first_and_second_run):
    home = first_and_second_run[0]
    assert _published(home, "select count(*) from marts.fct_student_mobility where country_iso3 like '%:%'") == [(0,)]


def test_second_run_on_unchanged_replay_is_idempotent(first_and_second_run):
    home, _, first_counts, _, _, _ = first_and_second_run
    assert _mart_counts(home) == first_counts


def test_second_run_makes_only_conditional_listing_requests_and_fetches_no_article(first_and_second_run):
    _, _, _, first_requests, _, second_requests = first_and_second_run
    moe_first = [r for r in first_requests if r.source == "moe_zh" and not r.path.endswith("robots.txt")]
    moe_second = [r for r in second_requests if r.source == "moe_zh" and not r.path.endswith("robots.txt")]
    articles_second = [r for r in moe_second if "/t20" in r.path]
    print(
        f"moe_zh requests: first run {len(moe_first)}, second run {len(moe_second)} "
        f"({sum(r.conditional for r in moe_second)} conditional, {len(articles_second)} articles)"
    )
    assert len(moe_second) < len(moe_first)
    assert moe_second and all(r.conditional for r in moe_second)
    assert articles_second == []
    uis_second = [r for r in second_requests if r.source == "uis" and not r.path.endswith("robots.txt")]
    assert [r.path for r in uis_second] == ["/api/public/versions/default"]


def test_docs_written_after_the_run_open_in_a_real_browser(first_and_second_run):
    from tests.support.browser import dump_dom, screenshot

    home = first_and_second_run[0]
    gx_index = home.docs / "gx" / "index.html"
    report = home.docs / "report" / "index.html"
    dbt_index = home.docs / "dbt" / "index.html"
    assert gx_index.exists() and report.exists() and dbt_index.exists()
    gx_dom = dump_dom(gx_index)
    assert "fct_student_mobility" in gx_dom and "Success" in gx_dom
    report_dom = dump_dom(report)
    assert report_dom.count("<svg") >= 3
    screenshot(gx_index, "test-artifacts/gx-data-docs.png")
    screenshot(report, "test-artifacts/report-e2e.png")
