"""RSS 2.0 / Atom 1.0 parsing (ingest.sources.feeds.parse) on the recorded feeds and small variants."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.errors import ParseError
from ingest.sources.feeds.parse import (
    DATE_FEED_UPDATED,
    DATE_FIRST_SEEN,
    DATE_OWN,
    FeedEntry,
    entry_language,
    entry_record,
    parse_feed,
)

BUNDLE = Path(__file__).resolve().parents[2] / "ingest" / "replay" / "bundle" / "feeds"
SITE = "http://www.people.com.cn/"
FIRST_SEEN = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def recorded(rel: str) -> tuple[bytes, str]:
    """Bytes and Content-Type as the replay serves them (the sidecar, else what the server guesses)."""
    path = BUNDLE / rel
    sidecar = path.with_name(path.name + ".headers.json")
    content_type = "application/xml"
    if sidecar.exists():
        content_type = json.loads(sidecar.read_text(encoding="utf-8")).get("Content-Type", content_type)
    return path.read_bytes(), content_type


def feed(rel: str):
    data, content_type = recorded(rel)
    return parse_feed(data, SITE + rel, content_type)


def by_url(parsed) -> dict[str, FeedEntry]:
    out: dict[str, FeedEntry] = {}
    for entry in parsed.entries:
        out.setdefault(entry.url, entry)
    return out


# -- encodings --------------------------------------------------------------------------------
def test_gbk_feed_declared_gb2312_without_charset_header_keeps_chinese_text():
    data, content_type = recorded("rss/edu.xml")
    assert content_type == "application/rss+xml"
    assert data.startswith(b'<?xml version="1.0" encoding="gb2312"?>')
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    parsed = feed("rss/edu.xml")
    assert parsed.title == "人民网-教育频道"
    assert parsed.entries[0].title == "教育部数据回顾：出国留学与学成回国规模持续扩大"
    bodies = "\n".join(entry.body_text for entry in parsed.entries)
    # 喆 and 镕 exist in GBK but not in GB2312, the label the feed declares.
    assert "王喆" in bodies and "朱镕基" in bodies
    assert "\ufffd" not in bodies


def test_rss_dates_with_offsets_become_utc_instants():
    first = feed("rss/edu.xml").entries[0]
    assert first.published_at == datetime(2026, 11, 18, 1, 30, tzinfo=UTC)  # 09:30 +0800
    assert feed("rss/edu.xml").updated_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


# -- HTML in CDATA ----------------------------------------------------------------------------
def test_html_in_cdata_becomes_plain_paragraphs_without_scripts_or_tags():
    entry = feed("rss/liuxue.xml").entries[0]
    lines = entry.body_text.split("\n")
    assert lines[0].startswith("2018年共有来自196个国家和地区的492185名各类外国留学人员")
    assert "按经费办法统计：中国政府奖学金生63041人。" in lines
    assert "原文链接" in lines
    for leftover in ("<", "trackView", "strong", "img"):
        assert leftover not in entry.body_text


def test_entities_in_titles_are_decoded():
    titles = [entry.title for entry in feed("rss/liuxue.xml").entries]
    assert "学历学位互认 & 留学便利化" in titles


def test_enclosure_documents_are_attachments():
    entry = by_url(feed("rss/liuxue.xml"))["http://liuxue.people.com.cn/n1/2026/1030/c1053-40598765.html"]
    assert entry.attachments == ("http://liuxue.people.com.cn/files/2026/1030/xuewei_huren.pdf",)


def test_a_link_repeated_in_the_feed_is_kept_for_the_run_to_store_once():
    urls = [entry.url for entry in feed("rss/liuxue.xml").entries]
    assert urls.count("http://liuxue.people.com.cn/n1/2026/1119/c1053-40613377.html") == 2


# -- dates missing --------------------------------------------------------------------------
def test_item_without_pubdate_gets_the_feed_updated_date_and_is_marked():
    parsed = feed("rss/liuxue.xml")
    undated = by_url(parsed)["http://liuxue.people.com.cn/n1/2026/1115/c1053-40610021.html"]
    assert undated.published_at is None
    record, basis = entry_record(undated, language="zh", feed=parsed, first_seen_at=FIRST_SEEN)
    assert basis == DATE_FEED_UPDATED
    assert record.published_at == datetime(2026, 11, 20, 12, 15, tzinfo=UTC)
    assert record.content_source == "published_at:feed_updated"


def test_item_without_any_date_gets_the_first_seen_time_and_is_marked():
    rss = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
           "<item><title>无日期的条目</title><link>http://example.cn/a.html</link><description>正文</description>"
           "</item></channel></rss>").encode()
    parsed = parse_feed(rss, "http://example.cn/feed.xml", "application/rss+xml")
    record, basis = entry_record(parsed.entries[0], language="zh", feed=parsed, first_seen_at=FIRST_SEEN)
    assert (basis, record.published_at, record.content_source) == (
        DATE_FIRST_SEEN, FIRST_SEEN, "published_at:first_seen")


def test_dated_entry_is_not_marked():
    parsed = feed("rss/edu.xml")
    record, basis = entry_record(parsed.entries[0], language="zh", feed=parsed, first_seen_at=FIRST_SEEN)
    assert basis == DATE_OWN and record.content_source is None
    assert record.issuing_body == "人民网-教育频道" and record.source == "feeds"


# -- Atom -------------------------------------------------------------------------------------
def test_atom_entries_with_xhtml_html_and_text_content():
    parsed = feed("atom/opening_up.xml")
    assert parsed.format == "atom10" and parsed.language == "en"
    entries = by_url(parsed)
    xhtml = entries["http://en.people.cn/n3/2026/1117/c90000-20612999.html"]
    assert xhtml.body_text.split("\n")[0].startswith("More than 80 countries have incorporated Chinese")
    assert xhtml.published_at == datetime(2026, 11, 17, 2, 30, tzinfo=UTC)  # published wins over updated
    html_title = entries["http://en.people.cn/n3/2026/0825/c90000-20571234.html"]
    assert html_title.title == "China, ASEAN open 2026 Education Cooperation Week"
    assert html_title.published_at == datetime(2026, 8, 25, 10, 0, tzinfo=UTC)  # updated when unpublished
    text = entries["http://en.people.cn/n3/2026/1107/c90000-20605511.html"]
    assert text.body_text == ("China and UNESCO agreed to strengthen cooperation on digital education "
                              "and teacher training.")


# -- identity of an entry's content -------------------------------------------------------------
def test_entry_hash_changes_with_its_text_only():
    entry = feed("rss/edu.xml").entries[0]
    same = FeedEntry(entry.url, entry.title, entry.body_text, entry.published_at, "another author")
    edited = FeedEntry(entry.url, entry.title, entry.body_text + "（更正）", entry.published_at)
    assert same.content_sha256 == entry.content_sha256
    assert edited.content_sha256 != entry.content_sha256
    assert json.loads(entry.normalised())["url"] == entry.url


def test_entry_hash_does_not_depend_on_the_rest_of_the_feed():
    data, content_type = recorded("rss/edu.xml")
    text = data.decode("gb18030").replace("<lastBuildDate>Fri, 20 Nov 2026 18:00:00 +0800</lastBuildDate>",
                                          "<lastBuildDate>Sat, 21 Nov 2026 08:00:00 +0800</lastBuildDate>")
    rebuilt = parse_feed(text.encode("gb18030"), SITE + "rss/edu.xml", content_type)
    assert [e.content_sha256 for e in rebuilt.entries] == [e.content_sha256 for e in feed("rss/edu.xml").entries]


# -- refusals ---------------------------------------------------------------------------------
def test_truncated_feed_is_refused():
    data, content_type = recorded("rss/liuxue.xml")
    with pytest.raises(ParseError, match="truncated"):
        parse_feed(data[: len(data) // 2], SITE + "rss/liuxue.xml", content_type)


def test_html_page_is_not_a_feed():
    page = b"<!DOCTYPE html><html><head><title>404</title></head><body><p>Not here</p></body></html>"
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(page, SITE + "rss/gone.xml", "text/html; charset=utf-8")


def test_entry_without_link_is_dropped_with_a_reason_and_relative_links_are_resolved():
    rss = (b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
           b"<item><title>No link here</title><description>x</description></item>"
           b"<item><title>Relative</title><link>/n1/2026/1101/a.html</link></item>"
           b"</channel></rss>")
    parsed = parse_feed(rss, "http://example.cn/rss/feed.xml", "application/rss+xml")
    assert parsed.dropped == ["entry without link: 'No link here'"]
    assert [e.url for e in parsed.entries] == ["http://example.cn/n1/2026/1101/a.html"]


def test_description_only_item_takes_its_first_line_as_title():
    rss = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
           "<item><link>http://example.cn/b.html</link><description><![CDATA[<p>第一段。</p><p>第二段。</p>]]>"
           "</description></item></channel></rss>").encode()
    assert parse_feed(rss, "http://example.cn/feed.xml", None).entries[0].title == "第一段。"


# -- language ---------------------------------------------------------------------------------
def test_language_from_config_then_feed_then_script():
    zh_entry = feed("rss/liuxue.xml").entries[0]
    en_entry = feed("atom/opening_up.xml").entries[0]
    assert entry_language("en", "zh-cn", zh_entry) == "en"
    assert entry_language(None, "zh-CN", en_entry) == "zh"
    assert entry_language(None, None, zh_entry) == "zh"
    assert entry_language(None, "fr", en_entry) == "en"
