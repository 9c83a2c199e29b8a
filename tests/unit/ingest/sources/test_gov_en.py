"""State Council English site: listings by URL shape, gov.cn article metadata (recorded pages)."""

from __future__ import annotations

import re
from datetime import date, datetime

from eduopen.core.paths import PROJECT_DIR
from ingest.sources.gov_en import parse_article, parse_listing
from ingest.sources.gov_en.listing import ARTICLE_PATH, FIRST_PAGE, NEXT_PAGE
from ingest.sources.html_article import date_from_article_url, parse_any_datetime
from ingest.sources.releases import paged_url

BUNDLE = PROJECT_DIR / "demo" / "replay" / "bundle" / "gov_en"
SITE = "https://english.www.gov.cn/"
COLUMN = SITE + "state_council/ministries/"
MIN = "state_council/ministries/"
RETURNEES = MIN + "2019/06/16/content_281476717954250.htm"
# The URL shapes sources.yml configures for gov_en: since 2020 (content_WS….html) and before (content_N.htm).
CONFIGURED = re.compile(
    r"^/(?:policies|state_council)/[a-z0-9_]+/(?:(?:19|20)\d{4}/\d{2}/content_WS[0-9a-f]+\.html"
    r"|(?:19|20)\d{2}/\d{2}/\d{2}/content_\d+\.htm)$"
)
CT = "text/html; charset=utf-8"


def listing(file_rel: str, page_url: str, pattern: re.Pattern[str] = CONFIGURED):
    return parse_listing((BUNDLE / file_rel).read_bytes(), page_url, CT, pattern=pattern)


def article(rel: str):
    return parse_article((BUNDLE / rel).read_bytes(), SITE + rel, CT)


def test_first_page_is_the_column_itself_then_page_n():
    assert paged_url(COLUMN, 0, first=FIRST_PAGE, next_page=NEXT_PAGE) == COLUMN
    assert paged_url(COLUMN, 1, first=FIRST_PAGE, next_page=NEXT_PAGE) == COLUMN + "page_1.html"
    assert paged_url(COLUMN, 3, first=FIRST_PAGE, next_page=NEXT_PAGE) == COLUMN + "page_3.html"


def test_pre_2020_urls_need_the_configured_pattern_and_take_their_date_from_the_row():
    assert listing(MIN + "index.html", COLUMN, ARTICLE_PATH) == []
    (item,) = listing(MIN + "index.html", COLUMN)
    assert (item.url, item.title, item.date) == (
        SITE + RETURNEES,
        "3.65m Chinese return after overseas study",
        date(2019, 6, 16),
    )


def test_gov_cn_first_published_time_with_dash_before_the_clock():
    record = article(RETURNEES)
    assert record.published_at == datetime.fromisoformat("2019-06-16T18:48:00+08:00")
    assert parse_any_datetime("2019-06-16-18:48:00") == record.published_at


def test_source_line_names_the_issuing_body():
    assert article(RETURNEES).issuing_body == "Xinhua"


def test_heading_is_the_title():
    assert article(RETURNEES).title == "3.65m Chinese return after overseas study"


def test_body_excludes_navigation_and_footer():
    body = article(RETURNEES).body_text
    assert body.startswith("BEIJING \u2014 A total of more than 3.65 million Chinese returned to China")
    assert "totaled 519,400" in body
    for chrome in ("Copyright", "Registration Number", "STATE COUNCIL", "Updated:"):
        assert chrome not in body


def test_date_in_gov_cn_url_directories():
    url = SITE + "policies/latestreleases/202402/04/content_WS65bf7f70c6d0868f4e8e3c94.html"
    assert date_from_article_url(url) == datetime.fromisoformat("2024-02-04T00:00:00+08:00")
    assert date_from_article_url("http://www.gov.cn/zhengce/content/202310/content_7045512.htm") is None


def test_every_listed_page_is_recorded():
    listed = {item.url for item in listing(MIN + "index.html", COLUMN)}
    assert listed == {SITE + RETURNEES}
    for url in listed:
        assert article(url.removeprefix(SITE)).body_text


# -- the gov.cn article template (tests/data/pages: template modelled, a real story's text) -----
PAGES = PROJECT_DIR / "tests" / "data" / "pages"
UCAP_URL = "https://english.www.gov.test/policies/latestreleases/story.html"


def ucap_page() -> bytes:
    return (PAGES / "gov_en_ucap.html").read_bytes()


def test_ucap_content_is_the_whole_body_lead_paragraph_included():
    record = parse_article(ucap_page(), UCAP_URL, CT)
    lines = record.body_text.split("\n")
    # The lead sits outside the inner trs_editor_view, which alone holds the most paragraphs.
    assert lines[0] == (
        "A total of 492,185 international students from 196 countries and regions studied in "
        "China in 2018, the Ministry of Education said Friday."
    )
    assert lines[-1] == "Among those, 65,800 were sponsored by public funding while 596,300 were self-funded."
    assert len(lines) == 7
    assert "Share:" not in record.body_text and "Copyright" not in record.body_text


def test_ucap_page_title_date_and_source():
    record = parse_article(ucap_page(), UCAP_URL, CT)
    assert record.title == "Nearly 500,000 international students study in China"
    assert record.published_at == datetime.fromisoformat("2019-04-13T00:00:00+08:00")
    assert record.issuing_body == "Xinhua"


def test_ucap_page_without_closing_tags_is_read_for_what_it_has():
    whole = ucap_page()
    cut = whole[: whole.index(b'</div>\n    </div>\n    <div class="share">')]
    assert b"</html>" not in cut
    assert parse_article(cut, UCAP_URL, CT) == parse_article(whole, UCAP_URL, CT)
