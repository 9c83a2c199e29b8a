"""State Council English site: listings by URL shape, gov.cn article metadata (recorded pages)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from ingest.sources.gov_en import parse_article, parse_listing
from ingest.sources.gov_en.listing import ARTICLE_PATH, FIRST_PAGE, NEXT_PAGE
from ingest.sources.html_article import date_from_article_url, parse_any_datetime
from ingest.sources.releases import paged_url

BUNDLE = Path(__file__).resolve().parents[2] / "ingest" / "replay" / "bundle" / "gov_en"
SITE = "https://english.www.gov.cn/"
COLUMN = SITE + "policies/latestreleases/"
LR = "policies/latestreleases/"
OPENING_UP = LR + "202611/20/content_WS673d9a41c6d0868f4e8ed3c1.html"
ENROLMENT = LR + "202611/12/content_WS6733b0a2c6d0868f4e8ed1f4.html"
NO_OG = LR + "202610/29/content_WS67209f61c6d0868f4e8ec9a2.html"
TITLE_TAG_ONLY = LR + "202609/10/content_WS66dfa7b4c6d0868f4e8eb2a5.html"
MISSING = LR + "202609/25/content_WS66f3c1e2c6d0868f4e8eb7d3.html"
CT = "text/html; charset=utf-8"


def listing(file_rel: str, page_url: str):
    return parse_listing((BUNDLE / file_rel).read_bytes(), page_url, CT)


def article(rel: str):
    return parse_article((BUNDLE / rel).read_bytes(), SITE + rel, CT)


def test_first_page_is_the_column_itself_then_page_n():
    assert paged_url(COLUMN, 0, first=FIRST_PAGE, next_page=NEXT_PAGE) == COLUMN
    assert paged_url(COLUMN, 1, first=FIRST_PAGE, next_page=NEXT_PAGE) == COLUMN + "page_1.html"
    assert paged_url(COLUMN, 3, first=FIRST_PAGE, next_page=NEXT_PAGE) == COLUMN + "page_3.html"


def test_listing_items_are_absolute_https_urls_dated_by_their_directories():
    items = listing(LR + "index.html", COLUMN)
    assert items[0].url == SITE + OPENING_UP
    assert items[0].date == date(2026, 11, 20)
    assert all(ARTICLE_PATH.search(item.url.removeprefix("https://english.www.gov.cn")) for item in items)


def test_picture_link_and_absolute_repeat_collapse_into_the_headline_item():
    items = listing(LR + "index.html", COLUMN)
    assert [item.url for item in items].count(SITE + OPENING_UP) == 1
    assert items[0].title == "China to expand high-standard opening-up of education"
    assert len(items) == 5


def test_gov_cn_first_published_time_with_dash_before_the_clock():
    record = article(OPENING_UP)
    assert record.published_at == datetime.fromisoformat("2026-11-20T18:30:00+08:00")
    assert parse_any_datetime("2026-11-20-18:30:00") == record.published_at


def test_source_line_names_the_issuing_body():
    assert article(OPENING_UP).issuing_body == "Xinhua"
    assert article(ENROLMENT).issuing_body == "Ministry of Education"


def test_heading_is_used_when_open_graph_is_missing():
    assert article(NO_OG).title == "China, ASEAN countries to deepen vocational education cooperation"


def test_page_title_loses_the_site_suffix_and_the_url_dates_the_page():
    record = article(TITLE_TAG_ONLY)
    assert record.title == "Action plan to advance digital education released"
    assert record.published_at == datetime.fromisoformat("2026-09-10T00:00:00+08:00")


def test_body_excludes_share_buttons_and_footer():
    body = article(OPENING_UP).body_text
    assert body.startswith("China will expand the high-standard opening-up of education")
    for chrome in ("Share:", "Copyright", "Registration Number", "Latest Releases"):
        assert chrome not in body


def test_date_in_gov_cn_url_directories():
    assert date_from_article_url(SITE + OPENING_UP) == datetime.fromisoformat("2026-11-20T00:00:00+08:00")
    assert date_from_article_url("http://www.gov.cn/zhengce/content/202610/content_7045512.htm") is None


def test_every_listed_page_is_recorded_except_the_deliberately_missing_one():
    listed = {item.url for item in listing(LR + "index.html", COLUMN)}
    listed |= {item.url for item in listing(LR + "page_1.html", COLUMN + "page_1.html")}
    missing = {url.removeprefix(SITE) for url in listed if not (BUNDLE / url.removeprefix(SITE)).is_file()}
    assert missing == {MISSING}
    for url in listed - {SITE + MISSING}:
        assert article(url.removeprefix(SITE)).body_text
