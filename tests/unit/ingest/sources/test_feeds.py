"""RSS 2.0 / Atom 1.0 parsing (ingest.sources.feeds.parse) on the recorded feed and small synthetic variants."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from eduopen.core.errors import ParseError
from eduopen.core.paths import PROJECT_DIR
from ingest.sources.feeds.parse import (
    DATE_FEED_UPDATED,
    DATE_FIRST_SEEN,
    DATE_OWN,
    FeedEntry,
    entry_language,
    entry_record,
    parse_feed,
)

BUNDLE = PROJECT_DIR / "demo" / "replay" / "bundle" / "feeds"
SITE = "http://en.people.cn/"
CHINA = "rss/90000.xml"
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


# -- the recorded feed: People's Daily Online, China channel --------------------------------------
def test_recorded_feed_is_utf8_rss_with_real_articles():
    data, content_type = recorded(CHINA)
    assert content_type == "application/rss+xml"
    parsed = feed(CHINA)
    assert parsed.format == "rss20" and parsed.language == "en"
    first = parsed.entries[0]
    assert first.url == "http://en.people.cn/n3/2024/0815/c90000-20206057.html"
    assert first.title == "Over 70 activities to be held during China-ASEAN Education Cooperation Week"


def test_rss_dates_with_offsets_become_utc_instants():
    entries = by_url(feed(CHINA))
    assert entries["http://en.people.cn/n3/2021/0916/c90000-9897131.html"].published_at == datetime(
        2021, 9, 16, 1, 40, tzinfo=UTC
    )  # 09:40 +0800
    assert feed(CHINA).updated_at == datetime(2024, 8, 14, 16, 0, tzinfo=UTC)


def test_html_in_cdata_becomes_plain_paragraphs():
    entry = by_url(feed(CHINA))["http://en.people.cn/n3/2022/0709/c90000-10121031.html"]
    lines = entry.body_text.split("\n")
    assert lines[0].startswith("BEIJING, July 8 (Xinhua) -- Chinese Vice Premier Sun Chunlan on Friday")
    assert len(lines) == 2
    assert "<" not in entry.body_text


def test_a_link_repeated_in_the_feed_is_kept_for_the_run_to_store_once():
    urls = [entry.url for entry in feed(CHINA).entries]
    assert urls.count("http://en.people.cn/n3/2023/0214/c90000-10207373.html") == 2


def test_item_without_pubdate_gets_the_feed_updated_date_and_is_marked():
    parsed = feed(CHINA)
    undated = by_url(parsed)["http://en.people.cn/n3/2020/1022/c90000-9771873.html"]
    assert undated.published_at is None
    record, basis = entry_record(undated, language="en", feed=parsed, first_seen_at=FIRST_SEEN)
    assert basis == DATE_FEED_UPDATED
    assert record.published_at == datetime(2024, 8, 14, 16, 0, tzinfo=UTC)
    assert record.content_source == "published_at:feed_updated"


def test_item_without_any_date_gets_the_first_seen_time_and_is_marked():
    rss = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
        "<item><title>无日期的条目</title><link>http://example.cn/a.html</link><description>正文</description>"
        "</item></channel></rss>"
    ).encode()
    parsed = parse_feed(rss, "http://example.cn/feed.xml", "application/rss+xml")
    record, basis = entry_record(parsed.entries[0], language="zh", feed=parsed, first_seen_at=FIRST_SEEN)
    assert (basis, record.published_at, record.content_source) == (
        DATE_FIRST_SEEN,
        FIRST_SEEN,
        "published_at:first_seen",
    )


def test_dated_entry_is_not_marked():
    parsed = feed(CHINA)
    record, basis = entry_record(parsed.entries[0], language="en", feed=parsed, first_seen_at=FIRST_SEEN)
    assert basis == DATE_OWN and record.content_source is None
    assert record.issuing_body == "People's Daily Online - China" and record.source == "feeds"


# -- synthetic variants: encodings, entities, enclosures, Atom -----------------------------------
GBK_RSS = (
    '<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>示例频道</title>'
    "<item><title>示例条目</title><link>http://example.cn/n1/a.html</link>"
    "<description><![CDATA[<p>王喆和朱镕基。</p><script>trackView()</script>]]></description>"
    "<pubDate>Wed, 18 Nov 2026 09:30:00 +0800</pubDate></item></channel></rss>"
)


def test_gbk_feed_declared_gb2312_without_charset_header_keeps_chinese_text():
    data = GBK_RSS.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    parsed = parse_feed(data, "http://example.cn/rss/edu.xml", "application/rss+xml")
    assert parsed.title == "示例频道"
    # 喆 and 镕 exist in GBK but not in GB2312, the label the feed declares.
    assert parsed.entries[0].body_text == "王喆和朱镕基。"
    assert parsed.entries[0].published_at == datetime(2026, 11, 18, 1, 30, tzinfo=UTC)


def test_entities_in_titles_are_decoded_and_enclosures_are_attachments():
    rss = (
        b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
        b"<item><title>Degrees &amp; credits</title><link>http://example.cn/n1/b.html</link>"
        b"<enclosure url='http://example.cn/files/b.pdf' type='application/pdf' length='1'/></item>"
        b"</channel></rss>"
    )
    entry = parse_feed(rss, "http://example.cn/feed.xml", "application/rss+xml").entries[0]
    assert entry.title == "Degrees & credits"
    assert entry.attachments == ("http://example.cn/files/b.pdf",)


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>T</title><updated>2026-11-20T10:00:00Z</updated>
<entry><title>XHTML entry</title><link href="http://example.cn/x.html"/><id>x</id>
<published>2026-11-17T10:30:00+08:00</published><updated>2026-11-18T10:30:00+08:00</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>First line.</p><p>Second.</p></div></content></entry>
<entry><title type="html">&lt;b&gt;HTML&lt;/b&gt; title</title><link href="http://example.cn/h.html"/><id>h</id>
<updated>2026-08-25T18:00:00+08:00</updated><summary>Summary.</summary></entry>
<entry><title>Text entry</title><link href="http://example.cn/t.html"/><id>t</id>
<updated>2026-11-07T00:00:00Z</updated><content type="text">Plain text.</content></entry>
</feed>"""


def test_atom_entries_with_xhtml_html_and_text_content():
    parsed = parse_feed(ATOM, "http://example.cn/atom.xml", "application/atom+xml")
    assert parsed.format == "atom10" and parsed.language == "en"
    entries = by_url(parsed)
    xhtml = entries["http://example.cn/x.html"]
    assert xhtml.body_text == "First line.\nSecond."
    assert xhtml.published_at == datetime(2026, 11, 17, 2, 30, tzinfo=UTC)  # published wins over updated
    html_title = entries["http://example.cn/h.html"]
    assert html_title.title == "HTML title"
    assert html_title.published_at == datetime(2026, 8, 25, 10, 0, tzinfo=UTC)  # updated when unpublished
    assert entries["http://example.cn/t.html"].body_text == "Plain text."


# -- identity of an entry's content -------------------------------------------------------------
def test_entry_hash_changes_with_its_text_only():
    entry = feed(CHINA).entries[0]
    same = FeedEntry(entry.url, entry.title, entry.body_text, entry.published_at, "another author")
    edited = FeedEntry(entry.url, entry.title, entry.body_text + " (corrected)", entry.published_at)
    assert same.content_sha256 == entry.content_sha256
    assert edited.content_sha256 != entry.content_sha256
    assert json.loads(entry.normalised())["url"] == entry.url


def test_entry_hash_does_not_depend_on_the_rest_of_the_feed():
    data, content_type = recorded(CHINA)
    text = data.decode("utf-8").replace(
        "<lastBuildDate>Thu, 15 Aug 2024 00:00:00 +0800</lastBuildDate>",
        "<lastBuildDate>Fri, 16 Aug 2024 08:00:00 +0800</lastBuildDate>",
    )
    assert text.encode() != data
    rebuilt = parse_feed(text.encode(), SITE + CHINA, content_type)
    dated = [e.content_sha256 for e in rebuilt.entries if e.published_at]
    assert dated == [e.content_sha256 for e in feed(CHINA).entries if e.published_at]


# -- refusals ---------------------------------------------------------------------------------
def test_truncated_feed_is_refused():
    data, content_type = recorded(CHINA)
    with pytest.raises(ParseError, match="truncated"):
        parse_feed(data[: len(data) // 2], SITE + CHINA, content_type)


def test_html_page_is_not_a_feed():
    page = b"<!DOCTYPE html><html><head><title>404</title></head><body><p>Not here</p></body></html>"
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(page, SITE + "rss/gone.xml", "text/html; charset=utf-8")


def test_entry_without_link_is_dropped_with_a_reason_and_relative_links_are_resolved():
    rss = (
        b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
        b"<item><title>No link here</title><description>x</description></item>"
        b"<item><title>Relative</title><link>/n1/2026/1101/a.html</link></item>"
        b"</channel></rss>"
    )
    parsed = parse_feed(rss, "http://example.cn/rss/feed.xml", "application/rss+xml")
    assert parsed.dropped == ["entry without link: 'No link here'"]
    assert [e.url for e in parsed.entries] == ["http://example.cn/n1/2026/1101/a.html"]


def test_description_only_item_takes_its_first_line_as_title():
    rss = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
        "<item><link>http://example.cn/b.html</link><description><![CDATA[<p>第一段。</p><p>第二段。</p>]]>"
        "</description></item></channel></rss>"
    ).encode()
    assert parse_feed(rss, "http://example.cn/feed.xml", None).entries[0].title == "第一段。"


# -- language ---------------------------------------------------------------------------------
def test_language_from_config_then_feed_then_script():
    zh_entry = parse_feed(GBK_RSS.encode("gb18030"), "http://example.cn/rss/edu.xml", None).entries[0]
    en_entry = feed(CHINA).entries[0]
    assert entry_language("en", "zh-cn", zh_entry) == "en"
    assert entry_language(None, "zh-CN", en_entry) == "zh"
    assert entry_language(None, None, zh_entry) == "zh"
    assert entry_language(None, "fr", en_entry) == "en"
