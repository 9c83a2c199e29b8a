"""moe_en, gov_en and feeds (and moe_zh's figures) against the replayed sites, through pipeline.ingest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from demo.replay.server import BUNDLE_DIR, SeenRequest
from eduopen import pipeline
from eduopen.core.errors import SourceError
from ingest.sources.base import IngestSummary

MOE_EN = "http://en.moe.gov.cn"
GOV_EN = "https://english.www.gov.cn"
STATS_EN = "/documents/reports/201904/t20190418_378692.html"
LISTED_TWICE_EN = "/news/press_releases/202403/t20240331_1123305.html"
# A real release whose text was not recorded: linked only by the overlay of the 404 test.
MISSING_EN = "/news/press_releases/202408/t20240823_1146878.html"
RETURNEES_GOV = "/state_council/ministries/2019/06/16/content_281476717954250.htm"
UNDATED_FEED_ENTRY = "http://en.people.cn/n3/2020/1022/c90000-9771873.html"
REPEATED_FEED_ENTRY = "http://en.people.cn/n3/2023/0214/c90000-10207373.html"
MOE_EN_COLUMNS = {
    "press_releases",
    "media_highlights",
    "top_news",
    "reports",
    "review_global_presence",
    "review_facts",
    "reform_40th_achievements",
    "wdec_2023_speeches",
    "wdec_2024_news",
    "wdec_2025_news",
}


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
    from demo.replay.server import ReplayServer
    from eduopen.core.paths import Home

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
            out[source] = Runs(
                home,
                first,
                first_requests,
                second,
                site_requests(replay, source),
                after_first,
                (count(home, "release_version", source), count(home, "release_figure", source)),
            )
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
    assert run.first.new_releases == len(stored) == 20
    assert all(url.startswith(MOE_EN + "/") and lang == "en" for url, lang, _ in stored)
    assert {column for _, _, column in stored} == MOE_EN_COLUMNS


def test_moe_en_fetches_a_release_listed_twice_once_and_never_pages_past_the_horizon(runs):
    paths = [r.path for r in runs["moe_en"].first_requests]
    assert paths.count(LISTED_TWICE_EN) == 1  # listed twice on press releases
    assert paths.count("/news/press_releases/index_1.html") == 1  # the pager states two pages
    assert "/news/press_releases/index_2.html" not in paths


def test_moe_en_article_404_is_quarantined_and_the_run_goes_on(runs, home, replay, tmp_path):
    assert runs["moe_en"].first.quarantined == 0
    link = f'<li><a href="{MISSING_EN}">2024 China-ASEAN Education Cooperation Week opened in Guiyang</a></li>'
    listing = bundled("moe_en", "news/press_releases/index.html").replace("<ul>\n", f"<ul>\n{link}\n", 1)
    overlay(replay, tmp_path, "moe_en", "news/press_releases/index.html", listing)
    summary = ingest_one("moe_en", home)
    assert (summary.quarantined, summary.new_releases) == (1, 20)
    assert rows(home, "select locator, reason from quarantine where source = 'moe_en'") == [
        (MOE_EN + MISSING_EN, "article_not_found")
    ]


def test_moe_en_release_figures_are_stored_with_their_sentence(runs):
    home = runs["moe_en"].home
    figures = rows(
        home,
        """select metric, value, unit, period_year, sentence from release_figure
                            where url = ? order by figure_index""",
        [MOE_EN + STATS_EN],
    )
    by_metric = {metric: (value, unit, period_year) for metric, value, unit, period_year, _ in figures}
    assert ("international_students_in_china", 492185, "persons", 2018) in [f[:4] for f in figures]
    assert by_metric["countries_of_origin"] == (196, "countries", 2018)
    assert by_metric["host_institutions"] == (1004, "institutions", 2018)
    assert all("492,185" in sentence for metric, *_, sentence in figures if metric == "countries_of_origin")
    sha = rows(home, "select content_sha256 from release_version where url = ?", [MOE_EN + STATS_EN])[0][0]
    assert rows(home, "select distinct content_sha256 from release_figure where url = ?", [MOE_EN + STATS_EN]) == [
        (sha,)
    ]


def test_moe_en_second_run_on_unchanged_site_only_asks_conditionally_and_stores_nothing(runs):
    run = runs["moe_en"]
    print(f"moe_en requests: first run {len(run.first_requests)}, second run {len(run.second_requests)}")
    assert len(run.first_requests) == 31  # eleven listing pages and twenty articles
    assert len(run.second_requests) == 10  # the first page of each column
    listings = {r.path for r in run.first_requests if r.path.endswith("/index.html")}
    assert {r.path for r in run.second_requests} == listings
    assert all(r.conditional and r.status == 304 for r in run.second_requests)
    assert run.second.new_rows == 0 and run.counts_after_second == run.counts_after_first
    assert run.counts_after_first[1] > 0


def test_moe_en_changed_article_becomes_a_second_version_with_its_own_figures(home, replay, tmp_path):
    ingest_one("moe_en", home)
    page = bundled("moe_en", LISTED_TWICE_EN.lstrip("/")).replace(
        "to China for exchange and study programs over the next five years",
        "to China for exchange and study programs over the next five years (corrected on Nov 21, 2026)",
    )
    assert "corrected" in page
    overlay(replay, tmp_path, "moe_en", LISTED_TWICE_EN.lstrip("/"), page)
    # The site regenerates the listing when it edits an article.
    listing = bundled("moe_en", "news/press_releases/index.html").replace("</body>", "<!-- 2026-11-21 -->\n</body>")
    overlay(replay, tmp_path, "moe_en", "news/press_releases/index.html", listing)
    summary = ingest_one("moe_en", home)
    assert (summary.changed_releases, summary.new_releases) == (1, 0)
    versions = rows(home, "select content_sha256 from release_version where url = ?", [MOE_EN + LISTED_TWICE_EN])
    assert len(versions) == 2
    per_version = rows(
        home,
        """select content_sha256, count(*) from release_figure where url = ?
                                group by 1""",
        [MOE_EN + LISTED_TWICE_EN],
    )
    # Figures are keyed by the version they were read from (this release states none).
    assert {sha for sha, _ in per_version} <= {sha for (sha,) in versions}


def test_moe_en_listing_without_article_links_fails_the_run_after_the_other_column(home, replay, tmp_path):
    changed = bundled("moe_en", "news/press_releases/index.html").replace(
        'href="./20', 'href="/news/press/article.jsp?id=20'
    )
    overlay(replay, tmp_path, "moe_en", "news/press_releases/index.html", changed)
    with pytest.raises(SourceError, match="no article link"):
        pipeline.ingest(["moe_en"], home)
    assert rows(home, "select reason from quarantine where source = 'moe_en'") == [("listing_layout_changed",)]
    columns = rows(home, "select distinct listing_column from release_version where source = 'moe_en'")
    assert {c for (c,) in columns} == MOE_EN_COLUMNS - {"press_releases"}


def test_moe_en_article_that_failed_transiently_is_fetched_next_run_although_the_listing_is_unchanged(
    home, replay, tmp_path
):
    unavailable = tmp_path / "overlay" / "moe_en" / STATS_EN.lstrip("/")
    overlay(replay, tmp_path, "moe_en", STATS_EN.lstrip("/"), "<html><body>Service busy</body></html>")
    unavailable.with_name(unavailable.name + ".headers.json").write_text('{"status": 503, "Retry-After": "0"}')
    first = ingest_one("moe_en", home)
    assert rows(home, "select reason from quarantine where locator = ?", [MOE_EN + STATS_EN]) == [
        ("article_fetch_failed",)
    ]
    assert first.new_releases == 19
    replay.state.extra_roots.clear()
    replay.reset_log()
    second = ingest_one("moe_en", home)
    requests = site_requests(replay, "moe_en")
    assert requests[0].status == 304
    assert second.new_releases == 1
    assert [r.path for r in requests].count(STATS_EN) == 1
    assert rows(home, "select count(*) from release_figure where url = ?", [MOE_EN + STATS_EN])[0][0] > 0


def test_moe_en_since_walks_back_past_max_pages_to_the_day_without_fetching_a_known_article_again(
    home, replay, tmp_path, monkeypatch
):
    from eduopen.cli import main
    from tests.reliability.support import write_sources_file

    sources_file = write_sources_file(
        tmp_path / "sources.yml", sources=["moe_en"], overrides={"moe_en": {"max_pages": 1}}
    )
    written = sources_file.read_bytes()
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(sources_file))
    ingest_one("moe_en", home)
    known = {url for (url,) in rows(home, "select url from release_version")}
    # The second page of press releases, beyond max_pages: three releases from 2019-05-01 on, two before.
    page_two = {
        "/news/press_releases/202012/t20201224_507474.html": True,
        "/news/press_releases/202006/t20200628_468671.html": True,
        "/news/press_releases/201905/t20190514_381997.html": True,
        "/news/press_releases/201904/t20190428_379822.html": False,
        "/news/press_releases/201904/t20190415_377957.html": False,
    }
    assert not {MOE_EN + path for path in page_two} & known
    first_requests = site_requests(replay, "moe_en")
    cursors = rows(home, "select * from source_cursor order by all")
    replay.reset_log()

    assert main(["ingest", "moe_en", "--since", "2019-05-01"]) == 0

    stored = {url for (url,) in rows(home, "select url from release_version")}
    assert stored - known == {MOE_EN + path for path, recent in page_two.items() if recent}
    article_paths = [r.path for r in first_requests + site_requests(replay, "moe_en") if "/t20" in r.path]
    assert len(article_paths) == len(set(article_paths)) == len(stored)  # none fetched twice
    assert rows(home, "select count(*) from release_version")[0][0] == len(stored)
    assert sources_file.read_bytes() == written
    assert rows(home, "select * from source_cursor order by all") == cursors  # the regular runs' own

    replay.reset_log()
    assert main(["ingest", "moe_en", "--since", "2019-05-01"]) == 0
    assert not [r for r in site_requests(replay, "moe_en") if "/t20" in r.path]
    assert {url for (url,) in rows(home, "select url from release_version")} == stored


def test_feeds_since_stores_entries_from_the_day_and_leaves_the_rest_to_the_next_regular_run(home, replay):
    (since,) = pipeline.ingest(["feeds"], home, since="2023-01-01")
    assert (since.new_releases, since.notes[0]) == (3, "4 entries older than the horizon skipped")
    own_dates = rows(home, "select published_at from release_version where content_source is null")
    assert len(own_dates) == 2 and all(published.year >= 2023 for (published,) in own_dates)
    # The feed is unchanged (304), but the run back to 2023 did not mark it read: the regular run
    # reads it again and stores the four older entries, within its own horizon.
    (regular,) = pipeline.ingest(["feeds"], home)
    assert (regular.not_modified, regular.new_releases) == (1, 4)
    assert count(home, "release_version", "feeds") == 7


# -- gov_en -----------------------------------------------------------------------------------
def test_gov_en_stores_releases_under_https_canonical_urls_once_each(runs):
    run = runs["gov_en"]
    urls = [url for (url,) in rows(run.home, "select url from release_version where source = 'gov_en'")]
    assert run.first.new_releases == len(urls) == 1
    assert urls == [GOV_EN + RETURNEES_GOV]
    paths = [r.path for r in run.first_requests]
    assert paths[0] == "/state_council/ministries/"
    assert paths.count(RETURNEES_GOV) == 1
    assert paths[-1] == "/state_council/ministries/page_1.html"  # the 404 that ends the pagination
    assert rows(run.home, "select count(*) from quarantine where source = 'gov_en'") == [(0,)]


def test_gov_en_second_run_only_asks_conditionally_and_stores_nothing(runs):
    run = runs["gov_en"]
    print(f"gov_en requests: first run {len(run.first_requests)}, second run {len(run.second_requests)}")
    assert [(r.path, r.status, r.conditional) for r in run.second_requests] == [
        ("/state_council/ministries/", 304, True)
    ]
    assert run.second.new_rows == 0 and run.counts_after_second == run.counts_after_first


# -- feeds ------------------------------------------------------------------------------------
def test_feed_entries_become_releases_with_chinese_text_intact(runs):
    run = runs["feeds"]
    stored = dict(rows(run.home, "select url, title from release_version where source = 'feeds'"))
    assert run.first.new_releases == len(stored) == 7
    assert stored["http://en.people.cn/n3/2022/0209/c90000-9955138.html"] == (
        "China to further open up high-level education"
    )
    bodies = "".join(b for (b,) in rows(run.home, "select body_text from release_version where source = 'feeds'"))
    assert "\ufffd" not in bodies
    assert "<p>" not in bodies
    languages = dict(rows(run.home, "select listing_column, any_value(language) from release_version group by 1"))
    assert languages == {"people_china": "en"}


def test_feed_entry_listed_twice_is_stored_once_and_old_entries_are_skipped(runs):
    home = runs["feeds"].home
    assert rows(home, "select count(*) from release_version where url = ?", [REPEATED_FEED_ENTRY]) == [(1,)]
    assert runs["feeds"].first.notes == ["1 new entries without their own date"]  # none beyond the horizon


def test_undated_feed_entry_takes_the_feed_date_and_says_so(runs):
    ((published_at, mark),) = rows(
        runs["feeds"].home,
        """select published_at, content_source
                                   from release_version where url = ?""",
        [UNDATED_FEED_ENTRY],
    )
    assert mark == "published_at:feed_updated"
    assert published_at.isoformat().startswith("2024-08-14")  # 2024-08-15 00:00 +0800


def test_feed_entry_hash_is_the_key_of_its_normalised_content_in_the_blob_store(runs):
    from ingest.raw_store import RawStore

    home = runs["feeds"].home
    ((sha,),) = rows(home, "select content_sha256 from release_version where url = ?", [REPEATED_FEED_ENTRY])
    with RawStore(home, read_only=True) as store:
        assert REPEATED_FEED_ENTRY in store.read(sha).decode("utf-8")


def test_feeds_second_run_only_asks_conditionally_and_stores_nothing(runs):
    run = runs["feeds"]
    print(f"feeds requests: first run {len(run.first_requests)}, second run {len(run.second_requests)}")
    assert sorted((r.path, r.status, r.conditional) for r in run.second_requests) == [("/rss/90000.xml", 304, True)]
    assert run.second.new_rows == 0 and run.counts_after_second == run.counts_after_first


def test_changed_feed_entry_is_a_new_version_and_the_others_are_not_stored_again(home, replay, tmp_path):
    ingest_one("feeds", home)
    feed = bundled("feeds", "rss/90000.xml").replace(
        "the provincial government announced Wednesday", "the provincial government announced on Wednesday"
    )
    overlay(replay, tmp_path, "feeds", "rss/90000.xml", feed)
    summary = ingest_one("feeds", home)
    assert (summary.new_rows, summary.changed_releases, summary.new_releases) == (1, 1, 0)
    assert rows(
        home,
        "select count(*) from release_version where url = ?",
        ["http://en.people.cn/n3/2021/0916/c90000-9897131.html"],
    ) == [(2,)]


def test_feed_that_is_no_longer_a_feed_fails_the_run_after_the_other_feeds(home, replay, tmp_path):
    overlay(
        replay, tmp_path, "feeds", "rss/90000.xml", "<!DOCTYPE html><html><body><p>We have moved.</p></body></html>"
    )
    with pytest.raises(SourceError, match="people_china"):
        pipeline.ingest(["feeds"], home)
    assert rows(home, "select reason from quarantine where source = 'feeds'") == [("feed_unparseable",)]
    assert rows(home, "select count(*) from release_version where source = 'feeds'") == [(0,)]


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
    # The feed answers 304 now, yet its stored copy is read again.
    assert {(r.path, r.status) for r in site_requests(replay, "feeds")} == {("/rss/90000.xml", 304)}
    assert "people_china: unchanged, finishing the last read" in summary.notes
    assert summary.new_releases == 3 and count(home, "release_version", "feeds") == 7


# -- moe_zh stores figures through the same helper -----------------------------------------------
def test_moe_zh_statistics_release_stores_its_figures(home, replay):
    ingest_one("moe_zh", home)

    def figures(url: str) -> dict:
        return {
            metric: (value, period_year)
            for metric, value, period_year in rows(
                home, "select metric, value, period_year from release_figure where url = ?", [url]
            )
        }

    inbound = figures("http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/s5987/201904/t20190412_377692.html")
    assert inbound["international_students_in_china"] == (492185, 2018)
    outbound = figures("http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/s5987/201903/t20190327_375704.html")
    assert outbound["students_going_abroad"] == (662100, 2018)
    assert outbound["students_going_abroad_growth_pct"] == (8.83, 2018)
    assert outbound["returnees"] == (519400, 2018)
