"""Decoding response bodies: BOM, header, <meta>, detection, and GB2312 read as its superset."""

from __future__ import annotations

import pytest

from ingest.charset import decode_body, detect_charset, normalize_charset

TITLE = "教育部关于加强中外合作办学和来华留学管理的通知"
BODY = (
    "为贯彻落实全国教育大会精神，推进新时代教育对外开放，教育部近日印发通知，"
    "要求各地各高校规范中外合作办学，提升来华留学教育质量。"
)


def page(meta: str = "") -> str:
    return (
        "<!DOCTYPE html><html><head>"
        f"{meta}<title>{TITLE}</title>"
        '<meta name="ArticleTitle" content="' + TITLE + '">'
        '</head><body><div class="TRS_Editor"><p>' + BODY + "</p></div></body></html>"
    )


def test_gbk_page_with_charset_only_in_meta_keeps_chinese_title() -> None:
    data = page('<meta charset="gbk">').encode("gbk")
    text = decode_body(data, "text/html")
    assert TITLE in text and BODY in text


def test_gb2312_declared_in_http_equiv_meta_reads_gbk_only_characters() -> None:
    # 镕 is in GBK but not in GB2312: real pages declared GB2312 contain such characters.
    html = page('<meta http-equiv="Content-Type" content="text/html; charset=gb2312">')
    data = html.replace(BODY, BODY + "朱镕基").encode("gbk")
    text = decode_body(data, "text/html")
    assert "朱镕基" in text
    assert "\ufffd" not in text


def test_gbk_page_without_any_declaration_is_detected() -> None:
    data = page().encode("gbk")
    assert detect_charset(data, "text/html") == "gb18030"
    assert TITLE in decode_body(data, "text/html")


def test_meta_utf8_wins_when_the_header_names_no_charset() -> None:
    data = page('<meta charset="utf-8">').encode("utf-8")
    assert detect_charset(data, "text/html") == "utf-8"
    assert TITLE in decode_body(data, "text/html")


def test_header_charset_wins_over_a_contradicting_meta() -> None:
    data = page('<meta charset="utf-8">').encode("gbk")
    assert TITLE in decode_body(data, "text/html; charset=GBK")


def test_header_claiming_iso_8859_1_wins_over_utf8_bytes_as_http_says() -> None:
    data = page('<meta charset="utf-8">').encode("utf-8")
    assert detect_charset(data, "text/html; charset=ISO-8859-1") == "cp1252"
    assert TITLE not in decode_body(data, "text/html; charset=ISO-8859-1")


def test_byte_order_mark_wins_over_the_header() -> None:
    data = "\ufeff".encode() + page().encode("utf-8")
    assert detect_charset(data, "text/html; charset=gbk") == "utf-8-sig"
    text = decode_body(data, "text/html; charset=gbk")
    assert text.startswith("<!DOCTYPE") and TITLE in text


def test_unknown_header_charset_is_ignored_in_favour_of_meta() -> None:
    data = page('<meta charset="gb2312">').encode("gbk")
    assert TITLE in decode_body(data, "text/html; charset=no-such-charset")


def test_meta_claiming_utf16_on_ascii_compatible_bytes_means_utf8() -> None:
    data = page('<meta charset="utf-16">').encode("utf-8")
    assert detect_charset(data, "text/html") == "utf-8"


def test_xml_declaration_encoding_is_used_for_feeds() -> None:
    feed = f'<?xml version="1.0" encoding="gb2312"?><rss><channel><title>{TITLE}</title></channel></rss>'
    assert TITLE in decode_body(feed.encode("gbk"), "application/rss+xml")


def test_meta_after_the_first_4_kb_is_not_trusted() -> None:
    filler = "<!--" + "x" * 5000 + "-->"
    data = "<html><head>" + filler + '<meta charset="koi8-r"></head><body>' + BODY + "</body></html>"
    assert detect_charset(data.encode("utf-8"), "text/html") == "utf-8"


def test_undecodable_bytes_become_replacement_characters_not_errors() -> None:
    data = b'{"title": "' + TITLE.encode("utf-8")[:-1] + b'"}'
    text = decode_body(data, "application/json; charset=utf-8")
    assert text.endswith('"}') and "\ufffd" in text


@pytest.mark.parametrize("label", ["gb2312", "GB2312", "gbk", "GBK", "x-gbk", "cp936", "csGB2312", "chinese", "euc-cn"])
def test_simplified_chinese_labels_map_to_gb18030(label: str) -> None:
    assert normalize_charset(label) == "gb18030"


def test_unknown_label_normalizes_to_none() -> None:
    assert normalize_charset("x-made-up") is None
