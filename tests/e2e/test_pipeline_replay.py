"""End to end: the whole pipeline against the replayed sources, read back from the published warehouse."""

from __future__ import annotations

import re

import duckdb
import pytest

from demo.run import drop_demo_landing_files
from eduopen import pipeline
from expectations.loader import SUITES_DIR

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


# -- the documentation the run wrote, in headless Chromium with the network off ------------------
# Each site's pages are opened from disk (file://) and through `eduopen docs serve`, and must show
# their content: dbt docs its model list, the Data Docs index its validation results in a bootstrap
# table, a validation page its counts with bootstrap's styles and Font Awesome's font applied, the
# report its charts. No page may ask a non-local host for anything.

SETTLE_MS = 5000
MODES = ("file", "served")


@pytest.fixture(scope="module")
def docs_server(first_and_second_run):
    import threading

    from eduopen.report.serve import make_server

    with make_server(first_and_second_run[0], port=0) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{httpd.server_port}"
        httpd.shutdown()


def _docs_url(home, server, mode, page):
    """The URL of `page` (under `home.docs`) as the mode opens it."""
    if mode == "file":
        return page.resolve().as_uri()
    return f"{server}/{page.relative_to(home.docs).as_posix()}"


def _visible_text(node):
    return re.sub(r"\s+", " ", node.text(separator=" ", strip=True))


@pytest.mark.parametrize("mode", MODES)
def test_dbt_docs_list_the_models(first_and_second_run, docs_server, mode):
    from selectolax.lexbor import LexborHTMLParser

    from tests.support.browser import render_offline

    home = first_and_second_run[0]
    page = render_offline(_docs_url(home, docs_server, mode, home.docs / "dbt" / "index.html"), settle_ms=SETTLE_MS)
    assert page.remote_requests == []
    # The manifest is inlined in a <script>: only the rendered sidebar proves the app ran on it.
    tree = LexborHTMLParser(page.dom).css_first("model-tree")
    assert tree is not None, "dbt docs rendered no model tree"
    models = {a.text(strip=True) for a in tree.css("a")}
    assert {"fct_policy_release", "fct_student_mobility", "dim_country"} <= models


@pytest.mark.parametrize("mode", MODES)
def test_data_docs_index_lists_the_validation_results(first_and_second_run, docs_server, mode):
    from selectolax.lexbor import LexborHTMLParser

    from tests.support.browser import probe_result, render_offline, screenshot, with_style_probe

    home = first_and_second_run[0]
    index = with_style_probe(home.docs / "gx" / "index.html", {"navbar": ("nav.navbar", "display")})
    page = render_offline(_docs_url(home, docs_server, mode, index), settle_ms=SETTLE_MS)
    assert page.remote_requests == []
    tree = LexborHTMLParser(page.dom)
    # bootstrap-table (jQuery, bootstrap) builds these rows from the page's data; without it: none.
    assert tree.css_first("div.bootstrap-table") is not None
    rows = [_visible_text(tr) for tr in tree.css("div.bootstrap-table tbody tr")]
    # The first page of the validation table: the gate's newest runs, each of one of our suites.
    suites = {path.stem for path in SUITES_DIR.rglob("*.json")}
    runs = [row for row in rows if "audit_gate" in row]
    assert runs, rows[:5]
    assert all(any(suite in row for suite in suites) for row in runs), runs[:5]
    # ...and the table counts every validation result the gate stored, over its pages.
    stored = len(list((home.state / "gx" / "validation_results").rglob("*.json")))
    info = tree.css_first(".pagination-info")
    assert info is not None and f"of {stored} rows" in info.text(), (stored, info and info.text())
    assert probe_result(page.dom)["navbar"] == "flex"  # bootstrap.min.css applied
    if mode == "file":
        screenshot(home.docs / "gx" / "index.html", "test-artifacts/gx-data-docs.png")


@pytest.mark.parametrize("mode", MODES)
def test_data_docs_validation_page_shows_counts_styled(first_and_second_run, docs_server, mode):
    from selectolax.lexbor import LexborHTMLParser

    from tests.support.browser import probe_result, render_offline, with_style_probe

    home = first_and_second_run[0]
    validation = sorted((home.docs / "gx" / "validations").rglob("*marts.fct_policy_release.html"))[-1]
    probed = with_style_probe(validation, {"navbar": ("nav.navbar", "display"), "icon font": ("i.fas", "font-family")})
    page = render_offline(_docs_url(home, docs_server, mode, probed), settle_ms=SETTLE_MS)
    assert page.remote_requests == []
    text = _visible_text(LexborHTMLParser(page.dom).body)
    counts = re.search(
        r"Evaluated Expectations (\d+) Successful Expectations (\d+) Unsuccessful Expectations (\d+)", text
    )
    assert counts, text[:500]
    evaluated, successful, unsuccessful = (int(n) for n in counts.groups())
    assert evaluated > 0 and evaluated == successful + unsuccessful
    probe = probe_result(page.dom)
    assert probe["navbar"] == "flex"
    assert "Font Awesome 6 Free" in str(probe["icon font"])
    assert "Font Awesome 6 Free" in probe["fonts loaded"]  # the webfont itself, not a fallback


@pytest.mark.parametrize("mode", MODES)
def test_report_draws_its_charts(first_and_second_run, docs_server, mode):
    from tests.support.browser import render_offline, screenshot

    home = first_and_second_run[0]
    report = home.docs / "report" / "index.html"
    page = render_offline(_docs_url(home, docs_server, mode, report))
    assert page.remote_requests == []
    assert page.dom.count("<svg") >= 3
    if mode == "file":
        screenshot(report, "test-artifacts/report-e2e.png")


def test_served_index_links_the_three_sites(docs_server):
    from urllib.request import urlopen

    from selectolax.lexbor import LexborHTMLParser

    from tests.support.browser import render_offline

    page = render_offline(f"{docs_server}/")
    assert page.remote_requests == []
    links = {a.text(strip=True): a.attributes["href"] for a in LexborHTMLParser(page.dom).css("a")}
    assert set(links) == {"Report", "dbt docs", "Data Docs"}
    for href in links.values():
        with urlopen(f"{docs_server}/{href}", timeout=10) as response:
            assert response.status == 200
            assert b"<html" in response.read(4096).lower()
