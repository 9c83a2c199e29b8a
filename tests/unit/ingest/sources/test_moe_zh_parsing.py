"""MOE (Chinese site) listing and article parsing, on the recorded replay pages (pure, no network)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from eduopen.core.errors import ParseError
from eduopen.core.paths import PROJECT_DIR
from ingest.sources.html_article import ListingItem, find_document_number
from ingest.sources.moe_zh.article import parse_article
from ingest.sources.moe_zh.listing import FIRST_PAGE, NEXT_PAGE, parse_listing, parse_page_count
from ingest.sources.releases import horizon_cutoff, paged_url, within_horizon

REPLAY = PROJECT_DIR / "demo" / "replay"
BUNDLE = REPLAY / "bundle" / "moe_zh"
SCENARIOS = REPLAY / "scenarios"
SITE = "http://www.moe.gov.cn/"
# The day the bundle was recorded: its horizon arithmetic is stated relative to it.
RECORDED_ON = date(2026, 11, 22)

# Real releases (demo/replay/bundle/moe_zh/PROVENANCE.md says where each text comes from).
WORK_NEWS = "jyb_xwfb/gzdt_gzdt/"
NOTICE = "srcsite/A20/s7068/201608/t20160811_274679.html"
# The 2020 press-conference page: no TRS meta tags, GBK without a charset header, 中国教育报 as source.
GBK_PAGE = NO_META_PAGE = NEWSPAPER_PAGE = "jyb_xwfb/s5147/202012/t20201222_000003.html"
TRUNCATED_PAGE = "jyb_xwfb/gzdt_gzdt/s5987/202006/t20200618_000001.html"
LISTED_TWICE = "jyb_xwfb/gzdt_gzdt/s5987/201904/t20190412_377692.html"
CHANGED_PAGE = "jyb_xwfb/gzdt_gzdt/s5987/202012/t20201214_505447.html"
STATS_PAGE = "jyb_xwfb/gzdt_gzdt/s5987/201904/t20190412_377692.html"
OUTBOUND_PAGE = "jyb_xwfb/gzdt_gzdt/s5987/201903/t20190327_375704.html"


def recorded(rel: str, root: Path = BUNDLE) -> tuple[bytes, str]:
    """Bytes and Content-Type exactly as the replay server sends them."""
    path = root / rel
    sidecar = path.with_name(path.name + ".headers.json")
    content_type = "text/html; charset=utf-8"
    if sidecar.exists():
        content_type = json.loads(sidecar.read_text(encoding="utf-8")).get("Content-Type", content_type)
    return path.read_bytes(), content_type


def listing(rel: str, root: Path = BUNDLE) -> list[ListingItem]:
    data, content_type = recorded(rel, root)
    return parse_listing(data, SITE + rel, content_type)


def article(rel: str, root: Path = BUNDLE):
    data, content_type = recorded(rel, root)
    return parse_article(data, SITE + rel, content_type)


# -- listings ---------------------------------------------------------------------------------
def test_listing_items_carry_absolute_urls_titles_and_dates():
    items = listing(WORK_NEWS + "index.html")
    first = items[0]
    assert first.url == SITE + CHANGED_PAGE
    assert first.title == "2019年度出国留学人员情况统计"
    assert first.date == date(2020, 12, 14)
    assert all(item.url.startswith("http") and item.date is not None for item in items)


def test_listing_resolves_links_into_other_sections_of_the_site():
    urls = [item.url for item in listing(WORK_NEWS + "index_1.html")]
    assert SITE + NOTICE in urls
    assert SITE + NOTICE in [item.url for item in listing("s78/A20/index.html")]


def test_listing_keeps_a_url_listed_twice_so_the_run_can_dedupe_it():
    urls = [item.url for item in listing(WORK_NEWS + "index.html")]
    assert urls.count(SITE + LISTED_TWICE) == 2


def test_listing_title_attribute_wins_over_shortened_link_text():
    titles = {item.url: item.title for item in listing(WORK_NEWS + "index.html")}
    # The space between the two CJK halves of the title is dropped by normalisation.
    assert titles[SITE + TRUNCATED_PAGE] == "教育部等八部门出台意见加快和扩大新时代教育对外开放"


def test_listing_keeps_off_site_links_for_the_run_to_skip():
    hosts = {item.url.split("/")[2] for item in listing(WORK_NEWS + "index.html")}
    assert hosts == {"www.moe.gov.cn", "www.gov.cn"}


def test_listing_without_list_container_is_a_layout_change():
    data, content_type = recorded("s78/A20/index.html", SCENARIOS / "layout_changed" / "moe_zh")
    with pytest.raises(ParseError, match="listing layout changed"):
        parse_listing(data, SITE + "s78/A20/index.html", content_type)


def test_empty_list_container_is_a_legitimately_empty_page():
    page = b'<html><body><div id="wcmpagehtml"><ul id="list">\n</ul></div></body></html>'
    assert parse_listing(page, SITE + WORK_NEWS + "index_9.html", "text/html; charset=utf-8") == []


def test_list_entries_without_links_are_a_layout_change():
    page = b'<html><body><ul id="list"><li><em>2026-01-01</em></li></ul></body></html>'
    with pytest.raises(ParseError, match="no links"):
        parse_listing(page, SITE + WORK_NEWS, "text/html; charset=utf-8")


def test_pagination_urls_and_page_count_follow_the_trs_pager():
    def page_url(page: int) -> str:
        return paged_url(SITE + WORK_NEWS, page, first=FIRST_PAGE, next_page=NEXT_PAGE)

    assert page_url(0) == SITE + WORK_NEWS + "index.html"
    assert page_url(1) == SITE + WORK_NEWS + "index_1.html"
    assert page_url(2) == SITE + WORK_NEWS + "index_2.html"
    data, _ = recorded(WORK_NEWS + "index_1.html")
    assert parse_page_count(data) == 2
    assert parse_page_count(b"<html><body><ul id='list'></ul></body></html>") is None


def test_horizon_keeps_items_from_the_cutoff_day_on_and_undated_items():
    cutoff = horizon_cutoff(RECORDED_ON, 365)
    assert cutoff == date(2025, 11, 22)
    items = [
        ListingItem("a", "on cutoff", cutoff),
        ListingItem("b", "day before", cutoff - timedelta(days=1)),
        ListingItem("c", "undated", None),
    ]
    assert [item.url for item in within_horizon(items, cutoff)] == ["a", "c"]


def test_recorded_work_news_pages_end_within_the_horizon_on_page_two():
    # The recorded releases are real ones from 2016-2020, so the cutoff is stated, not counted back
    # from the recording day: 2019-04-01 splits page 1 and leaves page 2 (2016) outside.
    cutoff = date(2019, 4, 1)
    fresh_per_page = [len(within_horizon(listing(WORK_NEWS + name), cutoff)) for name in ("index.html", "index_1.html")]
    assert fresh_per_page == [4, 0]


# -- articles ---------------------------------------------------------------------------------
def test_notice_parses_title_beijing_date_and_number():
    record = article(NOTICE)
    assert record.title == "教育部关于印发《推进共建“一带一路”教育行动》的通知"
    # The page states a day, no time: midnight in Beijing.
    assert record.published_at == datetime.fromisoformat("2016-08-11T00:00:00+08:00")
    assert record.published_at.utcoffset() == timedelta(hours=8)
    assert record.document_number == "教外〔2016〕46号"
    assert record.attachments == ()
    assert (record.source, record.language, record.url) == ("moe_zh", "zh", SITE + NOTICE)


def test_body_text_is_clean_paragraphs_without_page_chrome():
    record = article(NOTICE)
    lines = record.body_text.split("\n")
    assert lines[0] == "教外〔2016〕46号"
    assert "一、教育使命" in lines
    assert all(line == line.strip() and line for line in lines)
    for chrome in ("京ICP备", "打印", "当前位置", "site statistics"):
        assert chrome not in record.body_text


def test_release_statistics_sentence_survives_verbatim():
    record = article(STATS_PAGE)
    assert (
        "2018年共有来自196个国家和地区的492,185名各类外国留学人员在全国31个省（区、市）的1004所高等院校学习"
        in record.body_text
    )
    assert "二、按国别排序前15名：韩国50,600人，泰国28,608人" in record.body_text
    assert "2018年度我国出国留学人员总数为66.21万人。" in article(OUTBOUND_PAGE).body_text


def test_page_without_meta_tags_falls_back_to_heading_and_header_line():
    record = article(NO_META_PAGE)
    assert record.title == "教育部新闻发布会介绍“十三五”期间教育对外开放工作情况"
    assert record.published_at == datetime.fromisoformat("2020-12-22T00:00:00+08:00")
    assert record.content_source is None


def test_issuing_body_comes_from_source_label_when_meta_is_missing():
    record = article(NEWSPAPER_PAGE)
    assert record.content_source is None
    assert record.issuing_body == "中国教育报"
    assert record.document_number is None and record.attachments == ()


def test_gbk_page_without_charset_header_keeps_chinese_title():
    data, content_type = recorded(GBK_PAGE)
    assert content_type == "text/html"
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    record = parse_article(data, SITE + GBK_PAGE, content_type)
    assert record.title == "教育部新闻发布会介绍“十三五”期间教育对外开放工作情况"
    assert "2016至2019年，我国出国留学人数251.8万人，回国201.3万人，学成回国占比达八成。" in record.body_text


def test_recorded_page_without_closing_html_is_read_for_what_it_has():
    # The replay serves it whole (its Content-Length matches): a missing </html> is the page's, not a cut
    # transfer's, so it is read; tests/unit/ingest/sources/test_moe_zh_templates.py covers the malformed shapes.
    data, _ = recorded(TRUNCATED_PAGE)
    assert b"</html>" not in data[-200:].lower()
    record = article(TRUNCATED_PAGE)
    assert record.title and record.body_text


def test_page_without_title_or_body_is_a_parse_error():
    no_body = "<html><head><meta name='ArticleTitle' content='标题'></head><body><p>x</p></body></html>"
    with pytest.raises(ParseError, match="no article body"):
        parse_article(no_body.encode(), SITE + "a.html", "text/html; charset=utf-8")
    no_title = "<html><body><div class='TRS_Editor'><p>正文</p></div></body></html>"
    with pytest.raises(ParseError, match="no title"):
        parse_article(no_title.encode(), SITE + "b.html", "text/html; charset=utf-8")


def test_changed_article_scenario_is_the_same_release_in_a_new_page_layout():
    # The scenario re-serves the real text in the site's later article layout: the bytes change,
    # what the release says does not.
    before = article(CHANGED_PAGE)
    after = article(CHANGED_PAGE, SCENARIOS / "changed_article" / "moe_zh")
    assert (after.url, after.title, after.published_at) == (before.url, before.title, before.published_at)
    assert after.body_text == before.body_text
    assert recorded(CHANGED_PAGE)[0] != recorded(CHANGED_PAGE, SCENARIOS / "changed_article" / "moe_zh")[0]


def test_new_release_scenario_puts_one_new_item_on_top():
    base = [item.url for item in listing(WORK_NEWS + "index.html")]
    newer = [item.url for item in listing(WORK_NEWS + "index.html", SCENARIOS / "new_release" / "moe_zh")]
    assert newer[1:] == base
    assert (SCENARIOS / "new_release" / "moe_zh" / newer[0].removeprefix(SITE)).is_file()


def test_row_carries_attachments_as_json_text():
    row = article(NOTICE).as_row(
        content_sha256="ab" * 32,
        listing_column="work_news",
        first_seen_at=datetime.fromisoformat("2026-11-22T00:00:00+00:00"),
    )
    assert json.loads(row["attachments"]) == []
    assert row["document_number"] == "教外〔2016〕46号" and row["listing_column"] == "work_news"


def test_document_number_prefers_its_own_line_and_ignores_registration_numbers():
    own_line = ["根据《通知》（教外〔2024〕3号）要求", "教外厅函〔2026〕12号"]
    assert find_document_number(own_line) == "教外厅函〔2026〕12号"
    assert find_document_number(["根据《通知》（教外〔2024〕3号）要求"]) == "教外〔2024〕3号"
    assert find_document_number(["京ICP备10028400号", "2026年10月24日"]) is None


def test_every_listed_page_is_recorded_and_parses():
    listed = set()
    for index in BUNDLE.rglob("index*.html"):
        listed |= {item.url for item in listing(index.relative_to(BUNDLE).as_posix())}
    on_site = {url.removeprefix(SITE) for url in listed if url.startswith(SITE)}
    # A real listing never names a page MOE did not publish: the 404 case is a test overlay.
    assert {rel for rel in on_site if not (BUNDLE / rel).is_file()} == set()
    for rel in on_site - {TRUNCATED_PAGE}:
        assert article(rel).title
