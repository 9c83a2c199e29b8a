"""MOE (Chinese site) article templates and malformed pages, on test pages carrying real releases.

The pages under tests/data/pages/ are modelled on the site's templates (news `moe-detail-box`,
`srcsite` documents and `jyb_xxgk` public-information pages, both `content_body_xxgk`); their titles,
dates and texts are real releases' (tests/data/pages/README.md says where each comes from). Their
URLs are test locators under the reserved `.test` domain, not the releases' addresses.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from eduopen.core.errors import ParseError
from eduopen.core.paths import PROJECT_DIR
from ingest.sources.html_article import labelled_cells, parse_html
from ingest.sources.moe_zh.article import parse_article

PAGES = PROJECT_DIR / "tests" / "data" / "pages"
CT = "text/html; charset=utf-8"
SITE = "http://www.moe.test/"
# tYYYYMMDD_n in the path, as on the real site: the URL is the date of last resort.
NEWS_URL = SITE + "jyb_xwfb/gzdt_gzdt/s5987/201904/t20190412_1.html"
SRCSITE_URL = SITE + "srcsite/A20/moe_850/doc.html"
XXGK_URL = SITE + "jyb_xxgk/s5743/stats.html"
FIRST_SENTENCE = (
    "据统计，2018年共有来自196个国家和地区的492,185名各类外国留学人员在全国31个省（区、市）的1004所"
    "高等院校学习，比2017年增加了3,013人，增长比例为0.62%（以上数据均不含港、澳、台地区）。"
)
LAST_SENTENCE = (
    "五、按经费办法统计：中国政府奖学金生63,041人，占来华生总数的12.81%；自费生429,144人，占来华生总数的87.19%。"
)
BEIJING_2019_04_12 = datetime.fromisoformat("2019-04-12T00:00:00+08:00")


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def parse(data: bytes, url: str = NEWS_URL):
    return parse_article(data, url, CT)


# -- news template: moe-detail-box, h1, TRS_Editor ------------------------------------------
def test_news_page_gives_meta_title_date_and_every_paragraph_of_the_release():
    record = parse(page("moe_zh_news.html"))
    assert record.title == "2018年来华留学统计"
    assert record.published_at == BEIJING_2019_04_12
    lines = record.body_text.split("\n")
    assert lines[0] == FIRST_SENTENCE and lines[-1] == LAST_SENTENCE and len(lines) == 6
    for chrome in ("打印", "关闭", "京ICP备", "当前位置"):
        assert chrome not in record.body_text


def test_page_ending_before_its_closing_tags_is_read_like_the_whole_page():
    whole = page("moe_zh_news.html")
    cut = whole[: whole.index(b'<div id="moe-detail-page-set">')]
    assert b"</html>" not in cut and b"</body>" not in cut
    assert parse(cut) == parse(whole)


def test_malformed_page_without_wrapper_or_closing_tags_is_parsed_from_meta_and_trs_editor():
    data = page("moe_zh_news_malformed.html")
    assert b"moe-detail-box" not in data and b"</html>" not in data and b"</p>" not in data
    record = parse(data)
    assert record.title == "2018年来华留学统计"
    assert record.published_at == BEIJING_2019_04_12
    lines = record.body_text.split("\n")
    assert lines[0] == FIRST_SENTENCE and lines[-1] == LAST_SENTENCE
    # The never-closed TRS_Editor swallows the footer in the parsed tree; it is still not body text.
    assert "京ICP备" not in record.body_text and "主办单位" not in record.body_text


def test_page_without_meta_or_title_tag_takes_the_heading_and_the_url_day():
    text = page("moe_zh_news.html").decode()
    for tag in (
        '<meta name="ArticleTitle" content="2018年来华留学统计">',
        '<meta name="PubDate" content="2019-04-12">',
        '<div class="moe-detail-shuxing">2019-04-12</div>',
        "<title>2018年来华留学统计 - 中华人民共和国教育部政府门户网站</title>",
    ):
        assert tag in text
        text = text.replace(tag, "")
    record = parse(text.encode())
    assert record.title == "2018年来华留学统计"
    assert record.published_at == BEIJING_2019_04_12


# -- srcsite document: content_body_xxgk, information table, red head, 文号 -----------------
def test_srcsite_document_gives_title_number_issuing_body_text_and_attachment():
    record = parse(page("moe_zh_srcsite.html"), SRCSITE_URL)
    assert record.title == "教育部关于印发《来华留学生高等教育质量规范（试行）》的通知"
    assert record.document_number == "教外〔2018〕50号"
    assert record.issuing_body == "教育部"
    lines = record.body_text.split("\n")
    assert lines[0].startswith("各省、自治区、直辖市教育厅（教委）")
    assert "教育部" in lines and "2018年9月3日" in lines
    assert record.title not in lines  # the red-head title is not repeated as body text
    assert record.attachments == (SITE + "srcsite/A20/moe_850/W020180903000000000000.doc",)


def test_srcsite_document_without_a_publication_date_has_none_rather_than_its_signing_day():
    # The page states when the document was signed (2018年9月3日), not when it was published, and the
    # locator has no tYYYYMMDD: the publication date stays unknown.
    assert parse(page("moe_zh_srcsite.html"), SRCSITE_URL).published_at is None


def test_srcsite_document_number_comes_from_the_red_head_line_when_the_table_is_gone():
    data = page("moe_zh_srcsite.html")
    start, end = data.index(b"<table"), data.index(b"</table>") + len(b"</table>")
    record = parse(data[:start] + data[end:], SRCSITE_URL)
    assert record.document_number == "教外〔2018〕50号"
    assert record.title == "教育部关于印发《来华留学生高等教育质量规范（试行）》的通知"


def test_information_table_labels_pair_with_their_value_cells():
    tree = parse_html(page("moe_zh_srcsite.html"), CT)
    facts = labelled_cells(tree.css_first("#xxgk_head_table"))
    assert facts["发文字号"] == "教外〔2018〕50号" and facts["发文机构"] == "教育部"
    assert "生成日期" not in facts  # an empty value cell is no value
    inline = parse_html("<table><tr><td>发文字号：无</td></tr></table>".encode(), CT)
    assert labelled_cells(inline.css_first("table")) == {"发文字号": "无"}


# -- jyb_xxgk public-information page: table title and date, bare paragraphs -----------------
def test_public_information_page_takes_title_and_date_from_its_table_and_bare_paragraphs():
    record = parse(page("moe_zh_xxgk.html"), XXGK_URL)
    assert record.title == "2018年度我国出国留学人员情况统计"
    assert record.published_at == datetime.fromisoformat("2019-03-27T00:00:00+08:00")
    assert record.document_number is None  # the table says 无
    lines = record.body_text.split("\n")
    assert lines[0].startswith("2018年度我国出国留学人员总数为66.21万人。其中，国家公派3.02万人")
    assert len(lines) == 3 and record.title not in lines


# -- what is still refused --------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty page"),
        (b"   \r\n", "empty page"),
        (
            "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><div class='moe-footer'>"
            "<p>主办单位：中华人民共和国教育部</p></div></body></html>".encode(),
            "no title and no article body",
        ),
        (b"<html><head><meta name='PubDate' content='2019-04-12'>", "no title and no article body"),
    ],
)
def test_page_with_neither_title_nor_body_is_a_parse_error_saying_so(data, reason):
    with pytest.raises(ParseError, match=reason):
        parse(data)


def test_page_with_a_title_but_none_of_the_known_bodies_is_a_layout_error():
    data = b"<html><head><meta name='ArticleTitle' content='2018'></head><body><div class='x'><p>text</p></div>"
    with pytest.raises(ParseError, match=r"no article body .*check moe_zh.selectors"):
        parse(data)
