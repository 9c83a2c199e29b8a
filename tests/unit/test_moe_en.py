"""MOE English site: listings read by URL shape, articles by the generic extractor (recorded pages)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ingest.errors import ParseError
from ingest.sources.moe_en import parse_article, parse_listing
from ingest.sources.moe_en.listing import ARTICLE_PATH, parse_page_count
from ingest.sources.releases import paged_url

BUNDLE = Path(__file__).resolve().parents[2] / "ingest" / "replay" / "bundle" / "moe_en"
SITE = "http://en.moe.gov.cn/"

PRESS = "news/press_releases/"
HIGHLIGHTS = "news/media_highlights/"
STATS = PRESS + "202611/t20261119_1452301.html"
UNESCO = PRESS + "202611/t20261106_1451420.html"
LUBAN_NO_META = PRESS + "202609/t20260917_1448650.html"
ASEAN_OG_ONLY = PRESS + "202608/t20260824_1447402.html"
SILK_ROAD_TITLE_TAG = PRESS + "202601/t20260115_1433812.html"
ASEAN_2024 = PRESS + "202408/t20240823_1146878.html"
MISSING = PRESS + "202604/t20260421_1438555.html"
SMART_EDUCATION = HIGHLIGHTS + "202607/t20260709_1443351.html"


def recorded(rel: str) -> tuple[bytes, str]:
    path = BUNDLE / rel
    sidecar = path.with_name(path.name + ".headers.json")
    content_type = "text/html; charset=utf-8"
    if sidecar.exists():
        content_type = json.loads(sidecar.read_text(encoding="utf-8")).get("Content-Type", content_type)
    return path.read_bytes(), content_type


def listing(rel: str):
    data, content_type = recorded(rel)
    return parse_listing(data, SITE + rel, content_type)


def article(rel: str, **kwargs):
    data, content_type = recorded(rel)
    return parse_article(data, SITE + rel, content_type, **kwargs)


# -- listings ---------------------------------------------------------------------------------
def test_listing_finds_articles_by_url_shape_and_ignores_navigation():
    items = listing(PRESS + "index.html")
    assert all(ARTICLE_PATH.search(item.url.removeprefix(SITE.rstrip("/"))) for item in items)
    assert items[0].url == SITE + STATS
    assert items[0].title == "Study in China statistics show steady growth in international students"
    assert not any("/about_MOE/" in item.url or "www.moe.gov.cn" in item.url for item in items)


def test_listing_dates_come_from_the_article_urls():
    items = {item.url: item.date for item in listing(PRESS + "index.html")}
    assert items[SITE + STATS] == date(2026, 11, 19)
    assert items[SITE + ASEAN_OG_ONLY] == date(2026, 8, 24)


def test_a_link_listed_twice_is_one_item_with_its_full_title():
    items = listing(PRESS + "index.html")
    urls = [item.url for item in items]
    assert urls.count(SITE + STATS) == 1
    assert len(items) == 5


def test_media_highlights_link_into_press_releases():
    urls = [item.url for item in listing(HIGHLIGHTS + "index.html")]
    assert SITE + STATS in urls and SITE + SMART_EDUCATION in urls


def test_pagination_follows_index_n_and_the_pager_states_three_pages():
    assert paged_url(SITE + PRESS, 0, first="index.html", next_page="index_{n}.html") == SITE + PRESS + "index.html"
    assert paged_url(SITE + PRESS, 2, first="index.html", next_page="index_{n}.html") == SITE + PRESS + "index_2.html"
    data, _ = recorded(PRESS + "index_1.html")
    assert parse_page_count(data) == 3


def test_third_page_lies_entirely_before_the_horizon_of_the_recording_day():
    cutoff = date(2026, 11, 22) - timedelta(days=365)
    assert all(item.date < cutoff for item in listing(PRESS + "index_2.html"))
    assert any(item.date < cutoff for item in listing(PRESS + "index_1.html"))


def test_page_without_matching_links_yields_no_items():
    page = b'<html><body><ul><li><a href="/news/press/2026/11/19/story.html">Story</a></li></ul></body></html>'
    assert parse_listing(page, SITE + PRESS, "text/html; charset=utf-8") == []


def test_link_without_a_date_in_its_url_takes_the_date_of_its_row():
    page = (b'<html><body><ul><li><a href="/news/press/story-1.html">Story</a> <span>Nov 19, 2026</span></li>'
            b'<li><a href="/news/press/story-2.html">Other</a></li></ul></body></html>')
    items = parse_listing(page, SITE + PRESS, "text/html", pattern=re.compile(r"^/news/press/story"))
    assert [(item.title, item.date) for item in items] == [("Story", date(2026, 11, 19)), ("Other", None)]


def test_headline_and_footnote_classes_are_article_text_not_chrome():
    page = (b"<html><head><title>Site</title></head><body><div class='nav'><p>Home News Policies Documents</p></div>"
            b"<div class='headline'><h1>Real title</h1></div><div class='article-body'><p>First paragraph.</p>"
            b"<p class='footnote'>A footnote.</p></div><div class='footer'><p>Copyright notice text</p></div>"
            b"</body></html>")
    record = parse_article(page, SITE + STATS, "text/html; charset=utf-8")
    assert record.title == "Real title"
    assert record.body_text == "First paragraph.\nA footnote."


def test_configured_pattern_replaces_the_default_url_shape():
    page = b'<html><body><a href="/news/press/2026/11/19/story.html">Story</a></body></html>'
    items = parse_listing(page, SITE + PRESS, "text/html", pattern=re.compile(r"^/news/press/\d{4}/"))
    assert [item.title for item in items] == ["Story"]


# -- articles ---------------------------------------------------------------------------------
def test_article_with_trs_meta_tags():
    record = article(STATS)
    assert record.title == "Study in China statistics show steady growth in international students"
    assert record.published_at == datetime.fromisoformat("2026-11-19T10:30:00+08:00")
    assert record.issuing_body == record.content_source == "Ministry of Education"
    assert (record.source, record.language, record.url) == ("moe_en", "en", SITE + STATS)


def test_body_is_the_paragraph_block_without_page_chrome():
    record = article(STATS)
    assert "492,185 international students from 196 countries and regions" in record.body_text
    for chrome in ("Copyright", "Related:", "About MOE", "Sitemap", "Search", "京ICP备"):
        assert chrome not in record.body_text
    assert len(record.body_text.split("\n")) == 6


def test_page_with_only_open_graph_title_and_pubdate():
    record = article(ASEAN_OG_ONLY)
    assert record.title == "2026 China-ASEAN Education Cooperation Week opens in Guiyang"
    assert record.published_at == datetime.fromisoformat("2026-08-24T18:20:00+08:00")
    assert record.content_source is None
    assert record.issuing_body == "Ministry of Education"  # from the "Source:" line under the title


def test_page_without_meta_takes_heading_and_url_date():
    record = article(LUBAN_NO_META)
    assert record.title == "Luban Workshops bring Chinese vocational education to partner countries"
    assert record.published_at == datetime.fromisoformat("2026-09-17T00:00:00+08:00")
    assert record.issuing_body is None


def test_title_tag_without_the_site_name_is_the_last_resort():
    record = article(SILK_ROAD_TITLE_TAG)
    assert record.title == "Silk Road scholarships support talent for Belt and Road cooperation"


def test_the_real_2024_asean_week_release():
    record = article(ASEAN_2024)
    assert record.title == "2024 China-ASEAN Education Cooperation Week opened in Guiyang"
    assert record.published_at.date() == date(2024, 8, 23)


def test_document_links_become_absolute_attachments():
    assert article(SMART_EDUCATION).attachments == (SITE + HIGHLIGHTS + "202607/W020260709512345678901.pdf",)


def test_selector_overrides_win_over_the_generic_guesses():
    record = article(STATS, selectors={"title": "div.crumb", "body": "div.related", "date": "div.info"})
    assert record.title.startswith("Home > News")
    assert record.body_text == "Related: More press releases"
    assert record.published_at == datetime.fromisoformat("2026-11-19T00:00:00+08:00")


def test_truncated_page_and_page_without_paragraphs_are_parse_errors():
    data, content_type = recorded(STATS)
    with pytest.raises(ParseError, match="truncated"):
        parse_article(data[: len(data) // 2], SITE + STATS, content_type)
    empty = b"<html><head><title>x</title></head><body><div class='footer'><p>Copyright</p></div></body></html>"
    with pytest.raises(ParseError, match="no article body"):
        parse_article(empty, SITE + STATS, "text/html; charset=utf-8")


def test_every_listed_page_is_recorded_except_the_deliberately_missing_one():
    listed = set()
    for index in BUNDLE.rglob("index*.html"):
        listed |= {item.url for item in listing(index.relative_to(BUNDLE).as_posix())}
    missing = {url.removeprefix(SITE) for url in listed if not (BUNDLE / url.removeprefix(SITE)).is_file()}
    assert missing == {MISSING}
    for url in listed - {SITE + MISSING}:
        assert article(url.removeprefix(SITE)).title
