"""MOE English site: listings read by URL shape, articles by the generic extractor (recorded pages)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest

from eduopen.core.errors import ParseError
from eduopen.core.paths import PROJECT_DIR
from ingest.sources.moe_en import parse_article, parse_listing
from ingest.sources.moe_en.listing import ARTICLE_PATH, parse_page_count
from ingest.sources.releases import paged_url

BUNDLE = PROJECT_DIR / "demo" / "replay" / "bundle" / "moe_en"
SITE = "http://en.moe.gov.cn/"

PRESS = "news/press_releases/"
HIGHLIGHTS = "news/media_highlights/"
US_AMBASSADOR_2024 = PRESS + "202403/t20240331_1123305.html"
STUDY_ABROAD_2019 = PRESS + "202012/t20201224_507474.html"
OPENING_UP_2020 = PRESS + "202006/t20200628_468671.html"
UNESCO_OG_ONLY = HIGHLIGHTS + "202309/t20230928_1083355.html"
UNESCO_MEETING_NO_META = "News/Top_News/201702/t20170222_297034.html"
MUTUAL_RECOGNITION_TITLE_TAG = "Specials/Review/GlobalPresence/201806/t20180606_338553.html"
STUDY_IN_CHINA_2018 = "documents/reports/201904/t20190418_378692.html"
# The wider URL shape sources.yml configures for moe_en (columns outside /news/).
CONFIGURED = re.compile(
    r"^/(?:news|News|documents|Specials|features)/[A-Za-z0-9_/]+/(?:19|20)\d{4}/t(?:19|20)\d{6}_\d+\.html$"
)


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
    assert items[0].url == SITE + US_AMBASSADOR_2024
    assert items[0].title == "Huai Jinpeng meets with U.S. ambassador"
    assert not any("/about_MOE/" in item.url or "www.moe.gov.cn" in item.url for item in items)


def test_listing_dates_come_from_the_article_urls():
    items = {item.url: item.date for item in listing(PRESS + "index_1.html")}
    assert items[SITE + STUDY_ABROAD_2019] == date(2020, 12, 24)
    assert items[SITE + OPENING_UP_2020] == date(2020, 6, 28)


def test_a_link_listed_twice_is_one_item_with_its_full_title():
    items = listing(PRESS + "index.html")
    assert [item.url for item in items].count(SITE + US_AMBASSADOR_2024) == 1
    assert len(items) == 5


def test_columns_outside_news_need_the_configured_url_shape():
    rel = "documents/reports/index.html"
    data, content_type = recorded(rel)
    assert parse_listing(data, SITE + rel, content_type) == []
    items = parse_listing(data, SITE + rel, content_type, pattern=CONFIGURED)
    assert [(item.url, item.date) for item in items] == [(SITE + STUDY_IN_CHINA_2018, date(2019, 4, 18))]


def test_pagination_follows_index_n_and_the_pager_states_two_pages():
    assert paged_url(SITE + PRESS, 0, first="index.html", next_page="index_{n}.html") == SITE + PRESS + "index.html"
    assert paged_url(SITE + PRESS, 2, first="index.html", next_page="index_{n}.html") == SITE + PRESS + "index_2.html"
    data, _ = recorded(PRESS + "index_1.html")
    assert parse_page_count(data) == 2


def test_page_without_matching_links_yields_no_items():
    page = b'<html><body><ul><li><a href="/news/press/2026/11/19/story.html">Story</a></li></ul></body></html>'
    assert parse_listing(page, SITE + PRESS, "text/html; charset=utf-8") == []


def test_link_without_a_date_in_its_url_takes_the_date_of_its_row():
    page = (
        b'<html><body><ul><li><a href="/news/press/story-1.html">Story</a> <span>Nov 19, 2026</span></li>'
        b'<li><a href="/news/press/story-2.html">Other</a></li></ul></body></html>'
    )
    items = parse_listing(page, SITE + PRESS, "text/html", pattern=re.compile(r"^/news/press/story"))
    assert [(item.title, item.date) for item in items] == [("Story", date(2026, 11, 19)), ("Other", None)]


def test_headline_and_footnote_classes_are_article_text_not_chrome():
    page = (
        b"<html><head><title>Site</title></head><body><div class='nav'><p>Home News Policies Documents</p></div>"
        b"<div class='headline'><h1>Real title</h1></div><div class='article-body'><p>First paragraph.</p>"
        b"<p class='footnote'>A footnote.</p></div><div class='footer'><p>Copyright notice text</p></div>"
        b"</body></html>"
    )
    record = parse_article(page, SITE + STUDY_ABROAD_2019, "text/html; charset=utf-8")
    assert record.title == "Real title"
    assert record.body_text == "First paragraph.\nA footnote."


def test_configured_pattern_replaces_the_default_url_shape():
    page = b'<html><body><a href="/news/press/2026/11/19/story.html">Story</a></body></html>'
    items = parse_listing(page, SITE + PRESS, "text/html", pattern=re.compile(r"^/news/press/\d{4}/"))
    assert [item.title for item in items] == ["Story"]


# -- articles ---------------------------------------------------------------------------------
def test_article_with_trs_meta_tags():
    record = article(STUDY_ABROAD_2019)
    assert record.title == "Statistics on Chinese learners studying overseas in 2019"
    assert record.published_at == datetime.fromisoformat("2020-12-24T00:00:00+08:00")
    assert record.issuing_body == record.content_source == "Ministry of Education"
    assert (record.source, record.language, record.url) == ("moe_en", "en", SITE + STUDY_ABROAD_2019)


def test_body_is_the_paragraph_block_without_page_chrome():
    record = article(STUDY_ABROAD_2019)
    assert "The total number of Chinese nationals studying overseas in 2019 was 703,500" in record.body_text
    for chrome in ("Copyright", "You are here", "About MOE", "Sitemap", "Search", "京ICP备"):
        assert chrome not in record.body_text
    assert len(record.body_text.split("\n")) == 2


def test_statistics_tables_keep_one_line_per_row():
    lines = article(STUDY_IN_CHINA_2018).body_text.split("\n")
    assert lines[0].startswith("Figures show that in 2018 there were a total of 492,185 international students")
    assert any("South Korea" in line and "50,600" in line for line in lines)
    assert any("Thailand" in line and "28,608" in line for line in lines)


def test_page_with_only_open_graph_title_and_pubdate():
    record = article(UNESCO_OG_ONLY)
    assert record.title == "Xi meets UNESCO chief"
    assert record.published_at == datetime.fromisoformat("2023-09-28T00:00:00+08:00")
    assert record.content_source is None
    assert record.issuing_body == "Xinhua"  # from the "Source:" line under the title


def test_page_without_meta_takes_heading_and_url_date():
    record = article(UNESCO_MEETING_NO_META)
    assert record.title == "Vice-minister of education attends UNESCO ministerial meeting"
    assert record.published_at == datetime.fromisoformat("2017-02-22T00:00:00+08:00")
    assert record.issuing_body is None


def test_title_tag_without_the_site_name_is_the_last_resort():
    record = article(MUTUAL_RECOGNITION_TITLE_TAG)
    assert record.title == "China improves cooperation in international education"
    assert record.published_at == datetime.fromisoformat("2017-12-18T14:24:00+08:00")


def test_document_links_become_absolute_attachments():
    page = (
        b"<html><head><title>T</title></head><body><div class='TRS_Editor'><p>Report attached.</p>"
        b"<p><a href='./W020190418123.pdf'>Download</a></p></div></body></html>"
    )
    record = parse_article(page, SITE + STUDY_IN_CHINA_2018, "text/html; charset=utf-8")
    assert record.attachments == (SITE + "documents/reports/201904/W020190418123.pdf",)


def test_selector_overrides_win_over_the_generic_guesses():
    record = article(OPENING_UP_2020, selectors={"title": "div.crumb", "body": "div.info", "date": "div.info"})
    assert record.title == "You are here : Home > Press Releases"
    assert record.body_text == "2020-06-28 | Source: Ministry of Education"
    assert record.published_at == datetime.fromisoformat("2020-06-28T00:00:00+08:00")


def test_page_without_paragraphs_outside_the_chrome_is_a_parse_error():
    empty = b"<html><head><title>x</title></head><body><div class='footer'><p>Copyright</p></div></body></html>"
    with pytest.raises(ParseError, match="no article body"):
        parse_article(empty, SITE + STUDY_ABROAD_2019, "text/html; charset=utf-8")


def test_every_listed_page_is_recorded_and_parses():
    listed = set()
    for index in BUNDLE.rglob("index*.html"):
        rel = index.relative_to(BUNDLE).as_posix()
        data, content_type = recorded(rel)
        listed |= {item.url for item in parse_listing(data, SITE + rel, content_type, pattern=CONFIGURED)}
    assert len(listed) == 20
    for url in listed:
        assert (BUNDLE / url.removeprefix(SITE)).is_file()
        assert article(url.removeprefix(SITE)).body_text


# -- pages as they come (tests/data/pages: the site's template, a real release's text) ---------
PAGES = PROJECT_DIR / "tests" / "data" / "pages"
OPENING_UP_URL = SITE + "news/press_releases/202006/t20200628_468671.html"


def test_page_without_closing_tags_or_heading_is_parsed_from_meta_trs_editor_and_url():
    data = (PAGES / "moe_en_press_release.html").read_bytes()
    text_part = data[: data.index(b'<div class="footer">')]
    assert b"</html>" not in data and b"</p>" not in text_part and b"<h1" not in data
    record = parse_article(data, OPENING_UP_URL, "text/html; charset=utf-8")
    assert record.title == "Ministry of Education publishes plans on further opening of education"
    assert record.published_at == datetime.fromisoformat("2020-06-28T00:00:00+08:00")
    lines = record.body_text.split("\n")
    assert lines[0].startswith("The Ministry of Education and seven other ministries recently published")
    assert lines[-1].endswith("expand the global influence of China’s online education.")
    assert len(lines) == 7
    # The never-closed TRS_Editor holds the footer in the parsed tree; it is not body text.
    assert "Copyright" not in record.body_text


def test_page_with_neither_title_nor_body_names_both():
    with pytest.raises(ParseError, match="no title and no article body"):
        parse_article(b"<html><body><div class='footer'><p>Copyright</p>", OPENING_UP_URL, "text/html")
    with pytest.raises(ParseError, match="empty page"):
        parse_article(b"", OPENING_UP_URL, "text/html")
