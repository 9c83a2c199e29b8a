"""The static HTML report built from the published warehouse, checked in a real headless browser.

The published warehouse is built here with plain DuckDB SQL in the contract's shape (no dbt, no
GX), including hostile content: a release title carrying a <script>, a `javascript:` link and a
country name with markup. `build_published_home` is reused by test_analyst_queries.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from eduopen.core.errors import PublishError
from eduopen.core.paths import PROJECT_DIR, Home
from eduopen.report.html import build_report
from expectations.contracts import mart_contracts
from tests.support.browser import ARTIFACTS, dump_dom, screenshot

pytestmark = pytest.mark.timeout(240)

HOSTILE_TITLE = (
    "<script>document.title='pwned'</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">来华留学通知"
)
HOSTILE_COUNTRY = 'Ruritania <b onmouseover="alert(1)">bold</b>'
CHART_SECTIONS = ("mobility", "partners", "themes")

# The published marts, created from their dbt contracts (so the fixture cannot drift from them).
BASE_MARTS = (
    "dim_country",
    "dim_theme",
    "fct_student_mobility",
    "fct_policy_release",
    "bridge_release_theme",
    "fct_release_figure",
    "fct_moe_student_statistic",
)


def _create(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    contracts = mart_contracts()
    con.execute("create schema if not exists marts")
    for table in tables:
        body = ", ".join(f'"{name}" {data_type}' for name, data_type in contracts[table])
        con.execute(f"create table marts.{table} ({body})")


def _insert(con: duckdb.DuckDBPyConnection, table: str, **values: object) -> None:
    """One row by column name; the columns not named stay NULL."""
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    con.execute(f"insert into marts.{table} ({names}) values ({marks})", list(values.values()))


# (iso3, name_en, name_zh, region, is_asean, belt_and_road_status)
COUNTRIES = [
    ("CHN", "China", "中国", "Eastern Asia", False, None),
    ("USA", "United States of America", "美国", "Northern America", False, None),
    ("KOR", "Republic of Korea", "韩国", "Eastern Asia", False, None),
    ("THA", "Thailand", "泰国", "South-eastern Asia", True, "signed"),
    ("RUS", "Russian Federation", "俄罗斯", "Eastern Europe", False, "signed"),
    ("PAK", "Pakistan", "巴基斯坦", "Southern Asia", False, "signed"),
    ("RUR", HOSTILE_COUNTRY, None, "Europe", False, None),
]

THEMES = [
    ("study_in_china", "Study in China", "来华留学"),
    ("going_global", "Going global", "走出去"),
    ("belt_and_road", "Belt and Road", "一带一路"),
    ("digital_education", "Digital education", "教育数字化"),
]

# (url, language, title, published_date, themes)
RELEASES = [
    (
        "http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/moe_1485/202611/t20261118_1452210.html",
        "zh",
        "教育部召开2026年来华留学工作会议",
        "2026-11-18",
        ["study_in_china", "belt_and_road"],
    ),
    (
        "http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/moe_1485/202509/t20250910_1448015.html",
        "zh",
        "鲁班工坊建设推进会召开",
        "2025-09-10",
        ["going_global", "belt_and_road"],
    ),
    (
        "http://en.moe.gov.cn/news/press_releases/202408/t20240823_1146878.html",
        "en",
        "2024 China-ASEAN Education Cooperation Week opened in Guiyang",
        "2024-08-23",
        ["belt_and_road"],
    ),
    (
        "http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/moe_1485/202603/t20260316_1437720.html",
        "zh",
        HOSTILE_TITLE,
        "2026-03-16",
        ["study_in_china"],
    ),
    ("javascript:alert(document.domain)", "zh", "链接可疑的发布", "2026-02-01", []),
    (
        "http://www.moe.gov.cn/jyb_xwfb/s5147/202401/t20240105_1000001.html",
        "zh",
        "数字教育国际合作倡议",
        "2024-01-05",
        ["digital_education"],
    ),
]

MOBILITY_YEARS = range(2015, 2024)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


COVERAGE_START = 2019  # the release sources are collected from 2019 on
# China's inbound: UIS's own estimate in these years (drawn hollow, marked 'e')
ESTIMATED_YEARS = (2019, 2020)


def build_published_home(
    home: Home, *, scorecard: bool = True, exchange: bool = True, empty: bool = False, publish_log: bool = True
) -> Path:
    """Write `home.warehouse` (as publish would leave it) and a publish-log entry; return the path."""
    home.ensure()
    home.warehouse.unlink(missing_ok=True)
    con = duckdb.connect(str(home.warehouse))
    try:
        _create(con, *BASE_MARTS)
        if scorecard:
            _create(con, "mart_opening_up_scorecard")
        if exchange:
            _create(con, "mart_country_exchange")
        if not empty:
            _fill(con, scorecard=scorecard, exchange=exchange)
        con.execute("checkpoint")
    finally:
        con.close()
    if publish_log:
        entry = {"action": "publish", "published_at": "2026-11-20T08:30:00+00:00", "sha256": "ab12" * 16, "rows": {}}
        (home.state / "publish_log.jsonl").write_text(json.dumps(entry) + "\n", encoding="utf-8")
    return home.warehouse


def _china(i: int, year: int) -> tuple[float, float | None]:
    # China: outbound missing in 2017 (must stay a gap, never a zero)
    return 120_000.0 + 10_000 * i, None if year == 2017 else 520_000.0 + 40_000 * i


def _fill(con: duckdb.DuckDBPyConnection, *, scorecard: bool, exchange: bool) -> None:
    for iso3, name_en, name_zh, region, is_asean, belt_and_road in COUNTRIES:
        _insert(
            con,
            "dim_country",
            country_iso3=iso3,
            name_en=name_en,
            name_zh=name_zh,
            region=region,
            is_asean=is_asean,
            belt_and_road_status=belt_and_road,
            belt_and_road_source="a test's record" if belt_and_road else None,
        )
    for theme_id, name_en, name_zh in THEMES:
        _insert(con, "dim_theme", theme_id=theme_id, theme_name_en=name_en, theme_name_zh=name_zh, keyword_count=1)
    for i, year in enumerate(MOBILITY_YEARS):
        inbound, outbound = _china(i, year)
        _insert(
            con,
            "fct_student_mobility",
            mobility_id=f"CHN-{year}",
            country_iso3="CHN",
            year=year,
            inbound_students=inbound,
            inbound_source="uis",
            inbound_status="estimate" if year in ESTIMATED_YEARS else "published",
            outbound_students=outbound,
            outbound_status=None if outbound is None else "derived",
            outbound_source=None if outbound is None else "uis",
            net_flow=None if outbound is None else inbound - outbound,
            source="uis",
            data_version="20250225-2ae60fad",
        )
    partners = {
        "USA": (1_000_000.0, 80_000.0),
        "KOR": (120_000.0, 100_000.0),
        "THA": (40_000.0, None),
        "RUS": (300_000.0, 60_000.0),
        "PAK": (None, 70_000.0),
        "RUR": (5_000.0, 2_000.0),
    }
    for iso3, (inbound, outbound) in partners.items():
        _insert(
            con,
            "fct_student_mobility",
            mobility_id=f"{iso3}-2023",
            country_iso3=iso3,
            year=2023,
            inbound_students=inbound,
            inbound_status=None if inbound is None else "published",
            outbound_students=outbound,
            outbound_status=None if outbound is None else "derived",
            source="uis",
            data_version="20250225-2ae60fad",
        )
    stats_release = None
    for url, language, title, published, themes in RELEASES:
        release_id = _md5(url)
        stats_release = stats_release or (release_id, url)
        _insert(
            con,
            "fct_policy_release",
            release_id=release_id,
            event_id=release_id,
            event_release_count=1,
            source="moe_en" if language == "en" else "moe_zh",
            url=url,
            language=language,
            title=title,
            published_at=f"{published} 09:00:00+08",
            published_date=published,
            issuing_body="教育部",
            listing_column="gzdt",
            body_text="正文",
            body_chars=2,
            content_sha256=_md5(title),
            version_count=1,
            first_seen_at="2026-11-20 08:00:00+00",
        )
        for theme in themes:
            _insert(con, "bridge_release_theme", release_id=release_id, theme_id=theme, matched_keywords="kw")
    release_id, url = stats_release
    _insert(
        con,
        "fct_release_figure",
        figure_id=f"{release_id}-0",
        release_id=release_id,
        figure_index=0,
        metric="international_students_in_china",
        value=492_185.0,
        unit="persons",
        qualifier="exact",
        period_year=2018,
        sentence="2018年共有来自196个国家和地区的492185名各类外国留学人员",
        source="moe_zh",
        content_sha256=_md5("figure"),
    )
    moe_by_country = {
        "KOR": ("韩国", 50_600.0),
        "THA": ("泰国", 28_608.0),
        "USA": ("美国", 20_996.0),
        "RUS": ("俄罗斯", 19_239.0),
    }
    for k, (iso3, (member, value)) in enumerate(moe_by_country.items()):
        _insert(
            con,
            "fct_moe_student_statistic",
            statistic_id=f"s{k}",
            period_year=2018,
            measure="international_students_in_china",
            breakdown="country",
            member=member,
            member_code=iso3,
            country_iso3=iso3,
            is_unmapped_country=False,
            value=value,
            unit="persons",
            qualifier="exact",
            value_status="published",
            release_id=release_id,
            url=url,
            source="moe_zh",
            sentence=f"{member}{int(value)}人",
            releases_stating=1,
            values_stated=1,
        )
    if scorecard:
        for i, year in enumerate(MOBILITY_YEARS):
            inbound, outbound = _china(i, year)
            _insert(
                con,
                "mart_opening_up_scorecard",
                year=year,
                inbound_students=inbound,
                inbound_status="estimate" if year in ESTIMATED_YEARS else "published",
                inbound_source="uis",
                outbound_students=outbound,
                outbound_status=None if outbound is None else "derived",
                outbound_source=None if outbound is None else "uis",
                bringing_in_ratio=None if outbound is None else inbound / outbound,
                bringing_in_ratio_status=None if outbound is None else "derived",
                releases_total=None if year < COVERAGE_START else 0,
                releases_coverage_start_year=COVERAGE_START,
                moe_reported_inbound=258_122.0 if year == 2018 else None,
                moe_reported_inbound_status="published" if year == 2018 else None,
                moe_reported_inbound_all_types=492_185.0 if year == 2018 else None,
                moe_reported_outbound=662_100.0 if year == 2018 else None,
                inbound_share_belt_and_road=0.55,
                inbound_share_asean_listed=0.12,
                inbound_share_asean_listed_status="derived",
            )
    if exchange:
        flows = {
            "USA": (20_000.0, 290_000.0, 1),
            "KOR": (60_000.0, 50_000.0, 0),
            "THA": (28_000.0, 4_000.0, 2),
            "RUS": (20_000.0, 50_000.0, 1),
            "RUR": (300.0, None, 0),
        }
        for iso3, (to_china, from_china, mentions) in flows.items():
            for year in (2022, 2023):
                _insert(
                    con,
                    "mart_country_exchange",
                    exchange_id=f"{iso3}-{year}",
                    country_iso3=iso3,
                    year=year,
                    students_to_china=to_china,
                    students_to_china_status="published",
                    students_to_china_source="moe_zh",
                    students_from_china=from_china,
                    students_from_china_status=None if from_china is None else "published",
                    students_from_china_source=None if from_china is None else "uis_top_destinations",
                    releases_mentioning=mentions,
                    events_mentioning=mentions,
                    releases_coverage_start_year=COVERAGE_START,
                )


@pytest.fixture
def published(home: Home) -> Home:
    build_published_home(home)
    return home


def _sections(html: str) -> dict[str, HTMLParser]:
    tree = HTMLParser(html)
    return {node.attributes["id"]: HTMLParser(node.html) for node in tree.css("section.card")}


def _marks(section: HTMLParser) -> int:
    return len(section.css("svg.chart .mark"))


def test_every_chart_is_drawn_from_the_published_marts(published: Home) -> None:
    path = build_report(published)

    assert path == published.docs / "report" / "index.html"
    html = path.read_text(encoding="utf-8")
    sections = _sections(html)
    for name in CHART_SECTIONS:
        assert _marks(sections[name]) > 0, f"chart {name} is empty"
        assert "no data yet" not in sections[name].html
    # 9 inbound + 8 outbound points, the MOE-reported figures as two extra dots, and two line paths
    mobility = sections["mobility"]
    assert len(mobility.css("circle.mark")) == 9 + 8 + 2
    assert "marts.mart_opening_up_scorecard" in mobility.text()
    # partners come from the exchange mart: 2023 flows, biggest exchange (USA) first, names in two languages
    partners = sections["partners"]
    assert "marts.mart_country_exchange" in partners.text()
    labels = [t.text() for t in partners.css("svg.chart > text[text-anchor=end]")]
    assert labels[0].startswith("United States of America 美国")
    assert "Pakistan" not in partners.text()  # absent from the exchange mart
    # themes: one cell per (theme, year) that has releases; Belt and Road: 2024, 2025, 2026
    themes = sections["themes"]
    assert len(themes.css("rect.mark")) == 6
    assert "Belt and Road 一带一路" in themes.text()
    # scorecard table and the latest releases, newest first
    assert "492,185" in sections["scorecard"].text()
    dates = [td.text() for td in sections["releases"].css("td.date")]
    assert dates == sorted(dates, reverse=True) and len(dates) == len(RELEASES)


def test_header_states_publish_time_row_counts_and_licences(published: Home) -> None:
    html = build_report(published).read_text(encoding="utf-8")
    tree = HTMLParser(html)

    meta = tree.css_first("dl.meta").text()
    assert "2026-11-20 08:30 UTC" in meta and "ab12ab12ab12" in meta
    counts = {dt.text(): dd.text() for dt, dd in zip(tree.css("dl.counts dt"), tree.css("dl.counts dd"), strict=True)}
    assert counts["marts.fct_policy_release"] == str(len(RELEASES))
    assert counts["marts.mart_country_exchange"] == "10"
    footer = tree.css_first("footer").text()
    assert "CC BY-SA 3.0 IGO" in footer and "CC BY 4.0" in footer


def test_release_title_markup_is_escaped_and_javascript_links_are_dropped(published: Home) -> None:
    html = build_report(published).read_text(encoding="utf-8")

    assert "<script>document.title" not in html
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "<b onmouseover" not in html  # country names inside SVG are escaped too
    assert "javascript:" not in html
    tree = HTMLParser(html)
    assert tree.css("script") == [] and tree.css("img") == []
    titles = [td.text() for td in tree.css("td.title")]
    assert any(t.startswith("链接可疑的发布") for t in titles)  # shown, just not linked
    csp = tree.css_first('meta[http-equiv="Content-Security-Policy"]').attributes["content"]
    assert "default-src 'none'" in csp and "script-src" not in csp


def test_report_renders_in_headless_chromium_with_charts_and_an_inert_hostile_title(published: Home) -> None:
    path = build_report(published)

    png = screenshot(path, ARTIFACTS / "report.png", width=1280, height=3400)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000

    dom = HTMLParser(dump_dom(path))
    charts = [svg for svg in dom.css("svg.chart") if svg.css(".mark")]
    assert len(charts) >= 3
    # The title is the page's own, no element was injected, and the markup is visible as text.
    assert "pwned" not in dom.css_first("title").text()
    assert dom.body.attributes.get("data-pwned") is None
    assert dom.css("script") == [] and dom.css("img") == []
    assert any("<script>document.title='pwned'</script>" in td.text() for td in dom.css("td.title"))
    assert "China's education opening-up" in dom.css_first("h1").text()


def test_without_scorecard_and_exchange_marts_the_charts_fall_back_to_student_mobility(home: Home) -> None:
    build_published_home(home, scorecard=False, exchange=False)

    sections = _sections(build_report(home).read_text(encoding="utf-8"))

    assert "scorecard" not in sections
    mobility, partners = sections["mobility"], sections["partners"]
    assert "marts.fct_student_mobility" in mobility.text()
    assert len(mobility.css("circle.mark")) == 9 + 8  # no MOE-reported dots without the scorecard
    assert "marts.fct_student_mobility" in partners.text()
    labels = [t.text() for t in partners.css("svg.chart > text[text-anchor=end]")]
    # ranked by students hosted + sent in 2023: USA, RUS, KOR, PAK, THA, Ruritania; China is not a partner
    assert [label.split()[0] for label in labels] == [
        "United",
        "Russian",
        "Republic",
        "Pakistan",
        "Thailand",
        "Ruritania",
    ]
    # a missing direction reads n/a, it is not drawn as a zero-length bar
    assert len(partners.css("rect.mark")) == 2 * 6 - 2
    assert partners.text().count("n/a") == 2
    for name in CHART_SECTIONS:
        assert _marks(sections[name]) > 0


def test_empty_marts_say_no_data_yet_instead_of_drawing_empty_charts(home: Home) -> None:
    build_published_home(home, empty=True)

    html = build_report(home).read_text(encoding="utf-8")
    sections = _sections(html)

    for name in (*CHART_SECTIONS, "scorecard", "releases"):
        assert "no data yet" in sections[name].text(), name
        assert sections[name].css("svg") == []


def test_a_missing_year_breaks_the_line_instead_of_dropping_to_zero(published: Home) -> None:
    sections = _sections(build_report(published).read_text(encoding="utf-8"))

    outbound = [p for p in sections["mobility"].css("path.mark") if "outbound" in p.text().lower()]
    assert len(outbound) == 1
    # two runs (2015–2016 and 2018–2023): the pen is lifted once, at the missing 2017
    assert len(re.findall(r"M", outbound[0].attributes["d"])) == 2


def test_building_the_report_leaves_the_published_warehouse_untouched(published: Home) -> None:
    before = hashlib.sha256(published.warehouse.read_bytes()).hexdigest()

    build_report(published)
    build_report(published)

    assert hashlib.sha256(published.warehouse.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in (published.docs / "report").iterdir()) == ["index.html"]


def test_without_a_publish_log_the_warehouse_file_time_is_shown(home: Home) -> None:
    build_published_home(home, publish_log=False)
    os.utime(home.warehouse, (1_767_225_600, 1_767_225_600))  # 2026-01-01 00:00 UTC

    meta = HTMLParser(build_report(home).read_text(encoding="utf-8")).css_first("dl.meta").text()

    assert "2026-01-01 00:00 UTC (file time)" in meta


def test_a_torn_last_publish_log_line_does_not_hide_the_entry_before_it(published: Home) -> None:
    with (published.state / "publish_log.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"action": "publish", "published_at": "2026-11-2')

    meta = HTMLParser(build_report(published).read_text(encoding="utf-8")).css_first("dl.meta").text()

    assert "2026-11-20 08:30 UTC" in meta


def test_nothing_published_yet_is_a_publish_error_naming_the_fix(home: Home) -> None:
    with pytest.raises(PublishError, match="eduopen pipeline"):
        build_report(home)
    assert not (home.docs / "report" / "index.html").exists()


def test_python_dash_m_prints_the_report_path(published: Home) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "eduopen.report.html"],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        env={**os.environ, "EDUOPEN_HOME": str(published.root)},
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == published.docs / "report" / "index.html"
    assert (published.docs / "report" / "index.html").exists()


def test_estimated_and_derived_values_are_drawn_hollow_and_said_so(published: Home) -> None:
    sections = _sections(build_report(published).read_text(encoding="utf-8"))

    mobility = sections["mobility"]
    # UIS's own estimates (2019, 2020 inbound) and every outbound value (inbound - net flow)
    assert len(mobility.css("circle.mark.estimate")) == len(ESTIMATED_YEARS)
    assert len(mobility.css("circle.mark.derived")) == 8
    assert all(c.attributes["fill"] == "#fff" for c in mobility.css("circle.estimate, circle.derived"))
    note = mobility.css_first("p.source").text()
    assert "Hollow points: 2 an estimate the source itself flags" in note
    assert "8 derived here from published series (outbound = inbound − net flow)" in note
    scorecard = sections["scorecard"]
    estimated = [td.text() for td in scorecard.css("td.estimate")]
    assert estimated == ["170,000e", "160,000e"]  # 2020 and 2019 inbound, newest first
    # outbound and the ratio (2017 missing), and the listed ASEAN share every year
    assert len(scorecard.css("td.derived sup.status")) == 8 + 8 + 9
    assert "e: an estimate the source itself flags; d: derived here" in scorecard.text()


def test_release_counts_before_collection_began_read_not_collected(published: Home) -> None:
    scorecard = _sections(build_report(published).read_text(encoding="utf-8"))["scorecard"]

    rows = {tr.css_first("td").text(): tr.css("td")[-1].text() for tr in scorecard.css("tbody tr")}
    assert [rows[str(y)] for y in range(2015, COVERAGE_START)] == ["not collected"] * 4
    assert [rows[str(y)] for y in range(COVERAGE_START, 2024)] == ["0"] * 5
    assert f"releases collected since {COVERAGE_START}; earlier years: not collected" in scorecard.text()


def test_each_chart_names_the_sources_of_its_values(published: Home) -> None:
    sections = _sections(build_report(published).read_text(encoding="utf-8"))

    assert "inbound from uis, outbound from uis" in sections["mobility"].text()
    assert "(to China: moe_zh; from China: uis_top_destinations)" in sections["partners"].text()
    assert "marts.fct_policy_release" in sections["themes"].text()


def test_cooperative_approvals_are_drawn_per_partner_country_and_year(home: Home) -> None:
    build_published_home(home)
    before = _sections(build_report(home).read_text(encoding="utf-8"))["cooperation"]
    # the exchange mart without the register loaded: counts NULL, nothing drawn
    assert "no data yet" in before.text() and before.css("svg") == []

    con = duckdb.connect(str(home.warehouse))
    try:
        con.execute(
            "update marts.mart_country_exchange set cooperative_institutions_approved = 0, "
            "cooperative_programmes_approved = 0"
        )
        con.execute(
            "update marts.mart_country_exchange set cooperative_institutions_approved = 1, "
            "cooperative_programmes_approved = 2 where exchange_id = 'USA-2022'"
        )
        con.execute(
            "update marts.mart_country_exchange set cooperative_programmes_approved = 1 where exchange_id = 'KOR-2023'"
        )
        # a country-year known only from the register
        _insert(
            con,
            "mart_country_exchange",
            exchange_id="USA-2019",
            country_iso3="USA",
            year=2019,
            cooperative_institutions_approved=0,
            cooperative_programmes_approved=1,
        )
        con.execute("checkpoint")
    finally:
        con.close()

    section = _sections(build_report(home).read_text(encoding="utf-8"))["cooperation"]
    assert "marts.mart_country_exchange" in section.text()
    # one mark per country-year with approvals; the years between stay in the grid, empty
    assert _marks(section) == 3
    # most approvals first: the USA (4) before Korea (1)
    labels = [t.text() for t in section.css("svg.chart > text[text-anchor=end]")]
    assert [label.split()[-1] for label in labels[:2]] == [_name_zh("USA"), _name_zh("KOR")]
    assert {"2019", "2020", "2021", "2022", "2023"} <= {t.text() for t in section.css("svg.chart text")}


def _name_zh(iso3: str) -> str:
    (row,) = [country for country in COUNTRIES if country[0] == iso3]
    return row[2]
