"""Decoding response bodies: BOM, header, <meta>, detection, and GB2312 read as its superset."""

from __future__ import annotations

import pytest

from ingest.charset import UndecodableText, decode_body, decode_file_text, detect_charset, normalize_charset

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


# -- files dropped by analysts: decoded for sure, or refused ------------------------------------

CHINESE_TABLE = "国家,年份,人数\r\n韩国,2019,50600\r\n美国,2019,20996\r\n泰国,2019,28608\r\n"


@pytest.mark.parametrize(
    ("encoded", "codec"),
    [
        (CHINESE_TABLE.encode("utf-8"), "utf-8"),
        (CHINESE_TABLE.encode("utf-8-sig"), "utf-8-sig"),
        (CHINESE_TABLE.replace(",", "\t").encode("utf-16"), "utf-16"),  # Excel's "Unicode text"
        (b"\xfe\xff" + CHINESE_TABLE.encode("utf-16-be"), "utf-16"),
        (CHINESE_TABLE.encode("gbk"), "gb18030"),  # Excel's "CSV" on Chinese Windows
        (CHINESE_TABLE.encode("gb18030"), "gb18030"),
    ],
)
def test_file_text_in_every_accepted_encoding_reads_back_exactly(encoded: bytes, codec: str) -> None:
    text, used = decode_file_text(encoded)
    assert used == codec
    assert text.replace("\t", ",") == CHINESE_TABLE


def test_file_with_one_chinese_name_among_ascii_is_gbk_by_its_byte_pairs() -> None:
    # charset_normalizer finds "韩国" and "º«¹ú" equally clean; GBK's two-byte characters decide.
    data = "Entity,Code,Year,value\r\n韩国,KOR,2019,1\r\n".encode("gbk") + b"Korea,KOR,2020,2\r\n" * 500
    assert decode_file_text(data) == (data.decode("gbk"), "gb18030")


def test_file_with_one_accented_name_among_ascii_stays_windows_1252() -> None:
    data = "Entity,Code,Year,value\r\nCôte d'Ivoire,CIV,2019,1\r\n".encode("cp1252") + b"Chad,TCD,2019,2\r\n" * 500
    text, codec = decode_file_text(data)
    assert codec == "cp1252" and "Côte d'Ivoire" in text


def test_file_mixing_gbk_and_windows_1252_bytes_is_refused_not_guessed() -> None:
    data = (
        b"Entity,Code,Year,value\r\n"
        + "韩国".encode("gbk")
        + b",KOR,2019,1\r\n"
        + "Côte d'Ivoire".encode("cp1252")
        + b",CIV,2019,2\r\n"
    )
    with pytest.raises(UndecodableText, match="GB18030 and as Windows-1252 alike|Windows-1252 and as GB18030 alike"):
        decode_file_text(data)


def test_big5_file_is_refused_rather_than_read_as_gbk() -> None:
    with pytest.raises(UndecodableText, match="reads cleanly; save it as UTF-8"):
        decode_file_text("國家,年份,人數\r\n韓國,2019,50600\r\n美國,2019,20996\r\n".encode("big5"))


def test_damaged_utf16_and_binary_files_are_refused_with_the_reason() -> None:
    with pytest.raises(UndecodableText, match="damaged UTF-16 text"):
        decode_file_text(b"\xff\xfe" + "国家".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(UndecodableText, match="binary file"):
        decode_file_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
