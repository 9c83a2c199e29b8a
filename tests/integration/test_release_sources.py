"""moe_en, gov_en and feeds (and moe_zh's figures) against the replayed sites, through pipeline.ingest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ingest import pipeline
from ingest.errors import SourceError
from ingest.replay.server import BUNDLE_DIR, SeenRequest
from ingest.sources.base import IngestSummary

MOE_EN = "http://en.moe.gov.cn"
GOV_EN = "https://english.www.gov.cn"
STATS_EN = "/news/press_releases/202611/t20261119_1452301.html"
MISSING_EN = "/news/press_releases/202604/t20260421_1438555.html"
ASEAN_2024 = "/news/press_releases/202408/t20240823_1146878.html"
OPENING_UP_GOV = "/policies/latestreleases/202611/20/content_WS673d9a41c6d0868f4e8ed3c1.html"
MISSING_GOV = "/policies/latestreleases/202609/25/content_WS66f3c1e2c6d0868f4e8eb7d3.html"
UNDATED_FEED_ENTRY = "http://liuxue.people.com.cn/n1/2026/1115/c1053-40610021.html"
REPEATED_FEED_ENTRY = "http://liuxue.people.com.cn/n1/2026/1119/c1053-40613377.html"
OLD_FEED_ENTRY = "http://edu.people.com.cn/n1/2025/0901/c1006-40123456.html"


def rows(home, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(home.catalog), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def count(home, table: str, source: str) -> int:
    return rows(home, f"select count(*) from {table} where source = ?", [source])[0][0]


def site_requests(replay, source: str) -> list[SeenRequest]:
    return [r for r in replay.requests(source) if not r.path.endswith("robots.txt")]


def ingest_one(source: str, home) -> IngestSummary:
    (summary,) = pipeline.ingest([source], home)
    return summary


@dataclass
class Runs:
    """Two runs of one source against the unchanged replay, and what each asked for."""

    home: object
    first: IngestSummary
    first_requests: list[SeenRequest]
    second: IngestSummary
    second_requests: list[SeenRequest]
    counts_after_first: tuple[int, int]
    counts_after_second: tuple[int, int]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Iterator[dict[str, Runs]]:
    """moe_en, gov_en and feeds run twice each against one replay (read-only checks share it)."""
    from ingest.config import Home
    from ingest.replay.server import ReplayServer

    mp = pytest.MonkeyPatch()
    out: dict[str, Runs] = {}
    with ReplayServer(["moe_en", "gov_en", "feeds"]) as replay:
        for key, value in replay.env().items():
            mp.setenv(key, value)
        mp.setenv("EDUOPEN_MIN_DELAY_S", "0")
        for source in ("moe_en", "gov_en", "feeds"):
            home = Home(tmp_path_factory.mktemp(source) / "home").ensure()
            mp.setenv("EDUOPEN_HOME", str(home.root))
            replay.reset_log()
            first = ingest_one(source, home)
            first_requests = site_requests(replay, source)
            after_first = (count(home, "release_version", source), count(home, "release_figure", source))
            replay.reset_log()
            second = ingest_one(source, home)
            out[source] = Runs(home, first, first_requests, second, site_requests(replay, source), after_first,
                               (count(home, "release_version", source), count(home, "release_figure", source)))
    yield out
    mp.undo()


def overlay(replay, tmp_path: Path, source: str, rel: str, text: str, encoding: str = "utf-8") -> None:
    """Serve `text` at `rel` in front of the bundle (a changed page on the live site)."""
    root = tmp_path / "overlay"
    target = root / source / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text.encode(encoding))
    if root not in replay.state.extra_roots:
        replay.state.extra_roots.append(root)


def bundled(source: str, rel: str, encoding: str = "utf-8") -> str:
    return (BUNDLE_DIR / source / rel).read_bytes().decode(encoding)


# -- moe_en -----------------------------------------------------------------------------------
def test_moe_en_stores_english_releases_under_the_real_site_urls(runs):
    run = runs["moe_en"]
    stored = rows(run.home, "select url, language, listing_column from release_version where source = 'moe_en'")
    assert run.first.new_releases == len(stored) == 9
    assert all(url.startswith(MOE_EN + "/news/") and lang == "en" for url, lang, _ in stored)
    assert {column for _, _, column in stored} == {"press_releases", "media_highlights"}


def test_moe_en_fetches_a_release_listed_twice_once_and_never_pages_past_the_horizon(runs):
    paths = [r.path for r in runs["moe_en"].first_requests]
    assert paths.count(STATS_EN) == 1  # listed twice on press releases and once on media highlights
    assert "/news/press_releases/index_2.html" in paths
    assert ASEAN_2024 not in paths  # its page is older than the 365-day horizon


def test_moe_en_article_404_is_quarantined_and_the_run_goes_on(runs):
    run = runs["moe_en"]
    assert run.first.quarantined == 1
    assert rows(run.home, "select locator, reason from quarantine where source = 'moe_en'") == [
        (MOE_EN + MISSING_EN, "article_not_found")]


def test_moe_en_release_figures_are_stored_with_their_sentence(runs):
    home = runs["moe_en"].home
    figures = rows(home, """select metric, value, unit, year, sentence from release_figure
                            where url = ? order by figure_index""", [MOE_EN + STATS_EN])
    by_metric = {metric: (value, unit, year) for metric, value, unit, year, _ in figures}
    assert by_metric["international_students_in_china"] == (492185, "persons", 2018)
    assert by_metric["countries_of_origin"] == (196, "countries", 2018)
    assert by_metric["host_institutions"] == (1004, "institutions", 2018)
    assert all("492,185" in sentence for metric, *_, sentence in figures if metric == "countries_of_origin")
    sha = rows(home, "select content_sha256 from release_version where url = ?", [MOE_EN + STATS_EN])[0][0]
    assert rows(home, "select distinct content_sha256 from release_figure where url = ?", [MOE_EN + STATS_EN]) == [
        (sha,)]


def test_moe_en_second_run_on_unchanged_site_only_asks_conditionally_and_stores_nothing(runs):
    run = runs["moe_en"]
    print(f"moe_en requests: first run {len(run.first_requests)}, second run {len(run.second_requests)}")
    assert len(run.first_requests) == 14
    assert [r.path for r in run.second_requests] == ["/news/press_releases/index.html",
                                                     "/news/media_highlights/index.html"]
    assert all(r.conditional and r.status == 304 for r in run.second_requests)
    assert run.second.new_rows == 0 and run.counts_after_second == run.counts_after_first
    assert run.counts_after_first[1] > 0


def test_moe_en_changed_article_becomes_a_second_version_with_its_own_figures(home, replay, tmp_path):
    ingest_one("moe_en", home)
    page = bundled("moe_en", STATS_EN.lstrip("/")).replace(
        "an increase of 3,013 students or 0.62 percent over 2017.",
        "an increase of 3,013 students or 0.62 percent over 2017 (figures corrected on Nov 21, 2026).")
    overlay(replay, tmp_path, "moe_en", STATS_EN.lstrip("/"), page)
    # The site regenerates the listing when it edits an article.
    listing = bundled("moe_en", "news/press_releases/index.html").replace("</body>", "<!-- 2026-11-21 -->\n</body>")
    overlay(replay, tmp_path, "moe_en", "news/press_releases/index.html", listing)
    summary = ingest_one("moe_en", home)
    assert (summary.changed_releases, summary.new_releases) == (1, 0)
    versions = rows(home, "select content_sha256 from release_version where url = ?", [MOE_EN + STATS_EN])
    assert len(versions) == 2
    per_version = rows(home, """select content_sha256, count(*) from release_figure where url = ?
                                group by 1""", [MOE_EN + STATS_EN])
    assert len(per_version) == 2 and per_version[0][1] == per_version[1][1]


def test_moe_en_listing_without_article_links_fails_the_run_after_the_other_column(home, replay, tmp_path):
    changed = bundled("moe_en", "news/press_releases/index.html").replace(
        'href="./2026', 'href="/news/press/article.jsp?id=2026')
    overlay(replay, tmp_path, "moe_en", "news/press_releases/index.html", changed)
    with pytest.raises(SourceError, match="no article link"):
        pipeline.ingest(["moe_en"], home)
    assert rows(home, "select reason from quarantine where source = 'moe_en'") == [("listing_layout_changed",)]
    columns = rows(home, "select distinct listing_column from release_version where source = 'moe_en'")
    assert columns == [("media_highlights",)]


def test_moe_en_article_that_failed_transiently_is_fetched_next_run_although_the_listing_is_unchanged(
        home, replay, tmp_path):
    unavailable = tmp_path / "overlay" / "moe_en" / STATS_EN.lstrip("/")
    overlay(replay, tmp_path, "moe_en", STATS_EN.lstrip("/"), "<html><body>Service busy</body></html>")
    unavailable.with_name(unavailable.name + ".headers.json").write_text('{"status": 503, "Retry-After": "0"}')
    first = ingest_one("moe_en", home)
    assert rows(home, "select reason from quarantine where locator = ?", [MOE_EN + STATS_EN]) == [
        ("article_fetch_failed",)]
    assert first.new_releases == 8
    replay.state.extra_roots.clear()
    replay.reset_log()
    second = ingest_one("moe_en", home)
    requests = site_requests(replay, "moe_en")
    assert requests[0].path == "/news/press_releases/index.html" and requests[0].status == 304
    assert second.new_releases == 1
    assert [r.path for r in requests].count(STATS_EN) == 1
    assert rows(home, "select count(*) from release_figure where url = ?", [MOE_EN + STATS_EN])[0][0] > 0


# -- gov_en -----------------------------------------------------------------------------------
def test_gov_en_stores_releases_under_https_canonical_urls_once_each(runs):
    run = runs["gov_en"]
    urls = [url for (url,) in rows(run.home, "select url from release_version where source = 'gov_en'")]
    assert run.first.new_releases == len(urls) == 6
    assert all(url.startswith(GOV_EN + "/policies/latestreleases/") for url in urls)
    paths = [r.path for r in run.first_requests]
    assert paths[0] == "/policies/latestreleases/"
    assert paths.count(OPENING_UP_GOV) == 1
    assert paths[-1] == "/policies/latestreleases/page_2.html"  # the 404 that ends the pagination
    assert rows(run.home, "select locator, reason from quarantine where source = 'gov_en'") == [
        (GOV_EN + MISSING_GOV, "article_not_found")]


def test_gov_en_figures_carry_the_year_the_sentence_states(runs):
    figures = dict(rows(runs["gov_en"].home, """select metric, year from release_figure where source = 'gov_en'
                        and metric in ('gross_enrolment_ratio_pct', 'higher_education_enrolment')"""))
    assert figures == {"gross_enrolment_ratio_pct": 2024, "higher_education_enrolment": 2024}


def test_gov_en_second_run_only_asks_conditionally_and_stores_nothing(runs):
    run = runs["gov_en"]
    print(f"gov_en requests: first run {len(run.first_requests)}, second run {len(run.second_requests)}")
    assert [(r.path, r.status, r.conditional) for r in run.second_requests] == [
        ("/policies/latestreleases/", 304, True)]
    assert run.second.new_rows == 0 and run.counts_after_second == run.counts_after_first


# -- feeds ------------------------------------------------------------------------------------
def test_feed_entries_become_releases_with_chinese_text_intact(runs):
    run = runs["feeds"]
    stored = dict(rows(run.home, "select url, title from release_version where source = 'feeds'"))
    assert run.first.new_releases == len(stored) == 10
    assert stored["http://edu.people.com.cn/n1/2026/1110/c1006-40608811.html"] == "中外合作办学高质量发展推进会召开"
    bodies = "".join(b for (b,) in rows(run.home, "select body_text from release_version where source = 'feeds'"))
    assert "王喆" in bodies and "\ufffd" not in bodies
    languages = dict(rows(run.home, "select listing_column, any_value(language) from release_version group by 1"))
    assert languages == {"people_edu": "zh", "people_study_abroad": "zh", "people_opening_up": "en"}


def test_feed_entry_listed_twice_is_stored_once_and_old_entries_are_skipped(runs):
    home = runs["feeds"].home
    assert rows(home, "select count(*) from release_version where url = ?", [REPEATED_FEED_ENTRY]) == [(1,)]
    assert rows(home, "select count(*) from release_version where url = ?", [OLD_FEED_ENTRY]) == [(0,)]


def test_undated_feed_entry_takes_the_feed_date_and_says_so(runs):
    ((published_at, mark),) = rows(runs["feeds"].home, """select published_at, content_source
                                   from release_version where url = ?""", [UNDATED_FEED_ENTRY])
    assert mark == "published_at:feed_updated"
    assert published_at.isoformat().startswith("2026-11-20")


def test_feed_entry_hash_is_the_key_of_its_normalised_content_in_the_blob_store(runs):
    from ingest.raw_store import RawStore

    home = runs["feeds"].home
    ((sha,),) = rows(home, "select content_sha256 from release_version where url = ?", [REPEATED_FEED_ENTRY])
    with RawStore(home, read_only=True) as store:
        assert REPEATED_FEED_ENTRY in store.read(sha).decode("utf-8")


def test_feed_figures_are_read_from_entry_text(runs):
    figures = rows(runs["feeds"].home, """select metric, value, year from release_figure
                   where url = 'http://edu.people.com.cn/n1/2026/1118/c1006-40612345.html'
                   order by figure_index""")
    assert ("students_going_abroad", 703500.0, 2019) in figures
    assert ("returnees_growth_pct", 11.73, 2019) in figures


def test_feeds_second_run_only_asks_conditionally_and_stores_nothing(runs):
    run = runs["feeds"]
    print(f"feeds requests: first run {len(run.first_requests)}, second run {len(run.second_requests)}")
    assert sorted((r.path, r.status, r.conditional) for r in run.second_requests) == [
        ("/atom/opening_up.xml", 304, True), ("/rss/edu.xml", 304, True), ("/rss/liuxue.xml", 304, True)]
    assert run.second.new_rows == 0 and run.counts_after_second == run.counts_after_first


def test_changed_feed_entry_is_a_new_version_and_the_others_are_not_stored_again(home, replay, tmp_path):
    ingest_one("feeds", home)
    feed = bundled("feeds", "rss/edu.xml", "gb18030").replace("培养了大批技术技能人才", "培养了技术技能人才")
    overlay(replay, tmp_path, "feeds", "rss/edu.xml", feed, "gb18030")
    summary = ingest_one("feeds", home)
    assert (summary.new_rows, summary.changed_releases, summary.new_releases) == (1, 1, 0)
    assert rows(home, "select count(*) from release_version where url = ?",
                ["http://edu.people.com.cn/n1/2026/1020/c1006-40589902.html"]) == [(2,)]


def test_feed_that_is_no_longer_a_feed_fails_the_run_after_the_other_feeds(home, replay, tmp_path):
    overlay(replay, tmp_path, "feeds", "atom/opening_up.xml",
            "<!DOCTYPE html><html><body><p>We have moved.</p></body></html>")
    with pytest.raises(SourceError, match="people_opening_up"):
        pipeline.ingest(["feeds"], home)
    assert rows(home, "select reason from quarantine where source = 'feeds'") == [("feed_unparseable",)]
    columns = {c for (c,) in rows(home, "select distinct listing_column from release_version")}
    assert columns == {"people_edu", "people_study_abroad"}


def test_feed_read_cut_short_is_finished_next_run_although_the_feed_is_unchanged(home, replay, monkeypatch):
    import ingest.sources.feeds as feeds_module

    real_store = feeds_module.store_release
    stored: list[str] = []

    def store_then_crash(ctx, record, *args, **kwargs):
        if len(stored) == 4:
            raise RuntimeError("killed mid-feed")
        stored.append(record.url)
        return real_store(ctx, record, *args, **kwargs)

    monkeypatch.setattr(feeds_module, "store_release", store_then_crash)
    with pytest.raises(RuntimeError, match="killed mid-feed"):
        pipeline.ingest(["feeds"], home)
    assert count(home, "release_version", "feeds") == 4
    monkeypatch.setattr(feeds_module, "store_release", real_store)
    replay.reset_log()
    summary = ingest_one("feeds", home)
    # The crash came inside the second feed: it answers 304 now, yet its stored copy is read again.
    assert {(r.path, r.status) for r in site_requests(replay, "feeds")} == {
        ("/rss/edu.xml", 304), ("/rss/liuxue.xml", 304), ("/atom/opening_up.xml", 200)}
    assert "people_study_abroad: unchanged, finishing the last read" in summary.notes
    assert summary.new_releases == 6 and count(home, "release_version", "feeds") == 10


# -- moe_zh stores figures through the same helper -----------------------------------------------
def test_moe_zh_statistics_release_stores_its_figures(home, replay):
    ingest_one("moe_zh", home)
    def figures(url: str) -> dict:
        return {metric: (value, year) for metric, value, year in rows(
            home, "select metric, value, year from release_figure where url = ?", [url])}

    inbound = figures("http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/s5987/201904/t20190412_377692.html")
    assert inbound["international_students_in_china"] == (492185, 2018)
    outbound = figures("http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/s5987/201903/t20190327_375704.html")
    assert outbound["students_going_abroad"] == (662100, 2018)
    assert outbound["students_going_abroad_growth_pct"] == (8.83, 2018)
    assert outbound["returnees"] == (519400, 2018)
