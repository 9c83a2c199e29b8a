"""The static HTML report: `$EDUOPEN_HOME/docs/report/index.html`, built from the PUBLISHED warehouse.

It must open anywhere, offline, years later: one self-contained file, charts drawn as inline SVG
(`eduopen.report.charts`), no JavaScript, and a Content-Security-Policy that forbids scripts and network
loads in case escaping were ever missed. Everything taken from the warehouse is HTML-escaped;
release links are kept only for http(s) URLs.

Marts that another part of the pipeline may not have published yet are optional: the
bringing-in/going-global chart falls back from `mart_opening_up_scorecard` to
`fct_student_mobility` (China's rows), the partner chart from `mart_country_exchange` to the
countries of `fct_student_mobility`. A chart without data says "no data yet" instead of drawing
empty axes.

    python -m eduopen.report.html          # prints the path of the report it wrote
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

import duckdb

from eduopen.core.errors import EduOpenError, PublishError
from eduopen.core.files import atomic_write_text
from eduopen.core.paths import Home
from eduopen.report.charts import PALETTE, Series, full, hbar_chart, heatmap, line_chart

TEMPLATES = Path(__file__).resolve().parent / "templates"
NO_DATA = '<div class="no-data">no data yet</div>'
INBOUND, OUTBOUND = PALETTE[0], PALETTE[1]
TOP_PARTNERS = 12
MIN_PARTNERS = 5
LATEST_RELEASES = 25
MAX_THEME_YEARS = 15
# Display names for the source ids of sources.yml; an unknown id is shown as it is.
SOURCE_LABELS = {
    "moe_zh": "MOE (Chinese site)",
    "moe_en": "MOE (English site)",
    "uis": "UNESCO UIS",
    "worldbank": "World Bank",
    "oecd": "OECD",
}


# -- what the report shows ----------------------------------------------------------------------
@dataclass
class Mobility:
    years: list[int]
    inbound: list[float | None]
    outbound: list[float | None]
    moe_inbound: list[float | None]
    moe_outbound: list[float | None]
    note: str
    from_scorecard: bool
    # per year, 'estimate' or 'derived' where the value is not as its source published it
    inbound_marks: list[str | None] = field(default_factory=list)
    outbound_marks: list[str | None] = field(default_factory=list)


@dataclass
class Partners:
    year: int
    labels: list[str]
    to_china: list[float | None]
    from_china: list[float | None]
    releases: list[int | None]
    from_exchange: bool
    sources: str = ""


@dataclass
class ThemeGrid:
    themes: list[str]
    years: list[int]
    counts: list[list[int]]
    releases_with_theme: int


@dataclass
class Release:
    published: date | None
    title: str
    url: str
    source: str
    language: str
    themes: list[str] = field(default_factory=list)


@dataclass
class CooperationGrid:
    """Sino-foreign cooperative institutions and programmes approved, per partner country and year."""

    countries: list[str]
    years: list[int]
    counts: list[list[int]]
    approvals: int


@dataclass
class ReportData:
    row_counts: dict[str, int]
    mobility: Mobility | None
    partners: Partners | None
    themes: ThemeGrid | None
    releases: list[Release]
    release_total: int
    scorecard: list[dict[str, Any]]
    scorecard_columns: list[str]
    scorecard_note: str = ""
    cooperation: CooperationGrid | None = None


# -- reading the warehouse ----------------------------------------------------------------------
class _Marts:
    """Read-only access to the `marts` schema that tolerates tables or columns not built yet."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        rows = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name = 'marts' and database_name = current_database()"
        ).fetchall()
        self.columns: dict[str, set[str]] = {}
        for table, column in rows:
            self.columns.setdefault(table, set()).add(column)

    def has(self, table: str, *columns: str) -> bool:
        return table in self.columns and set(columns) <= self.columns[table]

    def col(self, table: str, column: str, alias: str | None = None) -> str:
        """`alias.column` when the column exists, else a NULL placeholder under the same name."""
        prefix = f"{alias}." if alias else ""
        return f"{prefix}{column}" if column in self.columns.get(table, ()) else f"null as {column}"

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def count(self, table: str) -> int:
        return self.con.execute(f'select count(*) from marts."{table}"').fetchall()[0][0]


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _trim(years: list[int], *columns: list[Any], values: int | None = None) -> tuple[list[int], list[list[Any]]]:
    """Drop leading and trailing years in which every series is missing; keep gaps in between.
    Only the first `values` columns (all by default) decide; the others are cut alongside."""
    deciding = columns[:values] if values is not None else columns
    filled = [i for i in range(len(years)) if any(c[i] is not None for c in deciding)]
    if not filled:
        return [], [[] for _ in columns]
    lo, hi = filled[0], filled[-1] + 1
    return years[lo:hi], [c[lo:hi] for c in columns]


NOT_AS_PUBLISHED = ("estimate", "derived")


def _mark(status: Any) -> str | None:
    return str(status) if status in NOT_AS_PUBLISHED else None


def _status_note(marks: Sequence[str | None]) -> str:
    """What the hollow points of a chart are, counted, or nothing when every value is as published."""
    counts = {m: sum(1 for x in marks if x == m) for m in NOT_AS_PUBLISHED}
    if not any(counts.values()):
        return ""
    what = {
        "estimate": "an estimate the source itself flags (e.g. UIS_EST)",
        "derived": "derived here from published series (outbound = inbound − net flow)",
    }
    return " Hollow points: " + "; ".join(f"{n} {what[m]}" for m, n in counts.items() if n) + "."


def _distinct(values: Sequence[Any]) -> str:
    seen = sorted({str(v) for v in values if v not in (None, "")})
    return ", ".join(seen) if seen else "not recorded"


def _country_label(name_en: str | None, name_zh: str | None, iso3: str) -> str:
    label = name_en or iso3
    return f"{label} {name_zh}" if name_zh else label


def read_mobility(marts: _Marts) -> Mobility | None:
    if marts.has("mart_opening_up_scorecard", "year", "inbound_students", "outbound_students"):
        table = "mart_opening_up_scorecard"
        rows = marts.rows(f"""
            select year, inbound_students, outbound_students,
                   {marts.col(table, "inbound_source")}, {marts.col(table, "outbound_source")},
                   {marts.col(table, "inbound_status")}, {marts.col(table, "outbound_status")},
                   {marts.col(table, "moe_reported_inbound")}, {marts.col(table, "moe_reported_outbound")}
            from marts.{table} where year is not null order by year""")
        note = (
            f"Source: marts.mart_opening_up_scorecard — inbound from "
            f"{_distinct([r['inbound_source'] for r in rows])}, outbound from "
            f"{_distinct([r['outbound_source'] for r in rows])}. Dots: figures the Ministry of "
            "Education reported in its own releases — its degree-seeking students match UIS's inbound "
            "definition; its yearly departures are a flow, not UIS's stock of students abroad."
        )
        from_scorecard = True
    elif marts.has("fct_student_mobility", "country_iso3", "year", "inbound_students", "outbound_students"):
        table = "fct_student_mobility"
        inbound_source = next(
            (f"{c} as inbound_source" for c in ("inbound_source", "source") if marts.has(table, c)),
            "null as inbound_source",
        )
        rows = marts.rows(f"""
            select year, inbound_students, outbound_students, {inbound_source},
                   {marts.col(table, "inbound_status")}, {marts.col(table, "outbound_status")},
                   null as moe_reported_inbound, null as moe_reported_outbound
            from marts.fct_student_mobility where country_iso3 = 'CHN' and year is not null order by year""")
        sources = _distinct([r["inbound_source"] for r in rows])
        note = (
            f"Source: marts.fct_student_mobility, China (CHN) — {sources}. "
            "The opening-up scorecard mart is not published yet."
        )
        from_scorecard = False
    else:
        return None
    years = [int(r["year"]) for r in rows]
    series = [
        [_num(r[k]) for r in rows]
        for k in ("inbound_students", "outbound_students", "moe_reported_inbound", "moe_reported_outbound")
    ]
    marks = [[_mark(r[k]) for r in rows] for k in ("inbound_status", "outbound_status")]
    years, columns = _trim(years, *series, *marks, values=len(series))
    if not years:
        return None
    inbound, outbound, moe_inbound, moe_outbound, inbound_marks, outbound_marks = columns
    note += _status_note(inbound_marks + outbound_marks)
    return Mobility(
        years,
        inbound,
        outbound,
        moe_inbound,
        moe_outbound,
        note=note,
        from_scorecard=from_scorecard,
        inbound_marks=inbound_marks,
        outbound_marks=outbound_marks,
    )


def read_partners(marts: _Marts) -> Partners | None:
    names = (
        "left join marts.dim_country c on c.country_iso3 = t.country_iso3"
        if marts.has("dim_country", "country_iso3", "name_en", "name_zh")
        else ""
    )
    name_cols = "c.name_en, c.name_zh" if names else "null as name_en, null as name_zh"
    if marts.has("mart_country_exchange", "country_iso3", "year", "students_to_china", "students_from_china"):
        to_col, from_col, table, from_exchange = (
            "students_to_china",
            "students_from_china",
            "mart_country_exchange",
            True,
        )
        mentions = (
            "sum(releases_mentioning) over (partition by country_iso3)"
            if marts.has(table, "releases_mentioning")
            else "null"
        )
        source_cols = [c for c in ("students_to_china_source", "students_from_china_source") if marts.has(table, c)]
    elif marts.has("fct_student_mobility", "country_iso3", "year", "inbound_students", "outbound_students"):
        to_col, from_col, table, from_exchange = (
            "inbound_students",
            "outbound_students",
            "fct_student_mobility",
            False,
        )
        mentions = "null"
        source_cols = []
    else:
        return None
    rows = marts.rows(f"""
        with base as (
            select country_iso3, year, {to_col} as to_china, {from_col} as from_china,
                   {mentions} as releases
            from marts.{table}
            where country_iso3 is not null and country_iso3 <> 'CHN'
        ),
        per_year as (
            select year, count(to_china) as coming, count(coalesce(to_china, from_china)) as partners
            from base group by year
        ),
        latest as (
            -- the latest year that says something about several partners, students coming to China
            -- (the rarer figure) first; not a year in which a source happens to report one country
            select coalesce(max(year) filter (where coming >= {MIN_PARTNERS}),
                            max(year) filter (where partners >= {MIN_PARTNERS}),
                            max(year) filter (where partners > 0)) as year
            from per_year
        )
        select t.country_iso3, t.year, t.to_china, t.from_china, t.releases, {name_cols}
        from base t
        join latest on t.year = latest.year
        {names}
        where coalesce(t.to_china, t.from_china) is not null
        order by coalesce(t.to_china, 0) + coalesce(t.from_china, 0) desc, t.country_iso3
        limit {TOP_PARTNERS}""")
    if not rows:
        return None
    year = int(rows[0]["year"])
    sources = ""
    if source_cols:
        named = marts.rows(
            f"""
            select {", ".join(f"string_agg(distinct {c}, ', ' order by {c}) as {c}" for c in source_cols)}
            from marts.{table} where year = ?""",
            [year],
        )[0]
        sources = "; ".join(
            f"{'to China' if 'to_china' in c else 'from China'}: {named[c] or 'none'}" for c in source_cols
        )
    return Partners(
        year=year,
        sources=sources,
        labels=[_country_label(r["name_en"], r["name_zh"], r["country_iso3"]) for r in rows],
        to_china=[_num(r["to_china"]) for r in rows],
        from_china=[_num(r["from_china"]) for r in rows],
        releases=[None if r["releases"] is None else int(r["releases"]) for r in rows],
        from_exchange=from_exchange,
    )


def read_themes(marts: _Marts) -> ThemeGrid | None:
    if not (
        marts.has("bridge_release_theme", "release_id", "theme_id")
        and marts.has("fct_policy_release", "release_id", "published_date")
        and marts.has("dim_theme", "theme_id", "theme_name_en")
    ):
        return None
    zh = marts.col("dim_theme", "theme_name_zh", "t")
    # an event told in Chinese, in English and in a feed is one event, counted once
    event = "r.event_id" if marts.has("fct_policy_release", "event_id") else "r.release_id"
    rows = marts.rows(f"""
        select t.theme_id, t.theme_name_en, {zh}, year(r.published_date) as year,
               count(distinct {event}) as releases
        from marts.bridge_release_theme b
        join marts.fct_policy_release r on r.release_id = b.release_id
        join marts.dim_theme t on t.theme_id = b.theme_id
        where r.published_date is not null
        group by all""")
    if not rows:
        return None
    last = max(r["year"] for r in rows)
    years = list(range(max(min(r["year"] for r in rows), last - MAX_THEME_YEARS + 1), last + 1))
    themes = marts.rows(
        f"select theme_id, theme_name_en, {marts.col('dim_theme', 'theme_name_zh')} "
        "from marts.dim_theme order by theme_id"
    )
    grid = {t["theme_id"]: [0] * len(years) for t in themes}
    for r in rows:
        if r["year"] in years:
            grid[r["theme_id"]][years.index(r["year"])] = int(r["releases"])
    # Busiest themes first; every theme stays listed so a silent theme is visible as such.
    themes.sort(key=lambda t: (-sum(grid[t["theme_id"]]), t["theme_name_en"] or t["theme_id"]))
    tagged = marts.rows("select count(distinct release_id) as n from marts.bridge_release_theme")[0]["n"]
    return ThemeGrid(
        themes=[_country_label(t["theme_name_en"], t["theme_name_zh"], t["theme_id"]) for t in themes],
        years=years,
        counts=[grid[t["theme_id"]] for t in themes],
        releases_with_theme=int(tagged),
    )


def read_cooperation(marts: _Marts) -> CooperationGrid | None:
    table = "mart_country_exchange"
    if not marts.has(
        table, "country_iso3", "year", "cooperative_institutions_approved", "cooperative_programmes_approved"
    ):
        return None
    names = marts.has("dim_country", "country_iso3", "name_en", "name_zh")
    rows = marts.rows(f"""
        select e.country_iso3, e.year,
               coalesce(e.cooperative_institutions_approved, 0) + coalesce(e.cooperative_programmes_approved, 0)
                   as approvals,
               {"c.name_en, c.name_zh" if names else "null as name_en, null as name_zh"}
        from marts.{table} e
        {"left join marts.dim_country c on c.country_iso3 = e.country_iso3" if names else ""}
        where coalesce(e.cooperative_institutions_approved, 0) + coalesce(e.cooperative_programmes_approved, 0) > 0""")
    if not rows:
        return None
    first, last = min(r["year"] for r in rows), max(r["year"] for r in rows)
    years = list(range(first, last + 1))
    totals: dict[str, int] = {}
    labels: dict[str, str] = {}
    for r in rows:
        totals[r["country_iso3"]] = totals.get(r["country_iso3"], 0) + int(r["approvals"])
        labels[r["country_iso3"]] = _country_label(r["name_en"], r["name_zh"], r["country_iso3"])
    # most approvals first, then by code, the same order on every run
    countries = sorted(totals, key=lambda iso3: (-totals[iso3], iso3))
    grid = {iso3: [0] * len(years) for iso3 in countries}
    for r in rows:
        grid[r["country_iso3"]][years.index(r["year"])] = int(r["approvals"])
    return CooperationGrid(
        countries=[labels[iso3] for iso3 in countries],
        years=years,
        counts=[grid[iso3] for iso3 in countries],
        approvals=sum(totals.values()),
    )


def read_releases(marts: _Marts) -> tuple[list[Release], int]:
    table = "fct_policy_release"
    if not marts.has(table, "title", "url"):
        return [], 0
    themed = (
        marts.has("bridge_release_theme", "release_id", "theme_id")
        and marts.has("dim_theme", "theme_id", "theme_name_en")
        and marts.has(table, "release_id")
    )
    themes_sql = (
        """(select list(t.theme_name_en order by t.theme_name_en)
                      from marts.bridge_release_theme b join marts.dim_theme t on t.theme_id = b.theme_id
                      where b.release_id = r.release_id)"""
        if themed
        else "null"
    )
    order = ", ".join(
        f"r.{column} {direction}"
        for column, direction in (
            ("published_date", "desc nulls last"),
            ("first_seen_at", "desc nulls last"),
            ("url", "asc"),
        )
        if column in marts.columns[table]
    )
    rows = marts.rows(f"""
        select {marts.col(table, "published_date", "r")}, r.title, r.url, {marts.col(table, "source", "r")},
               {marts.col(table, "language", "r")}, {themes_sql} as themes
        from marts.{table} r order by {order} limit {LATEST_RELEASES}""")
    releases = [
        Release(
            r["published_date"],
            r["title"] or "",
            r["url"] or "",
            r["source"] or "",
            r["language"] or "",
            list(r["themes"] or []),
        )
        for r in rows
    ]
    return releases, marts.count(table)


SCORECARD_COLUMNS = (
    "year",
    "inbound_students",
    "outbound_students",
    "bringing_in_ratio",
    "moe_reported_inbound",
    "moe_reported_inbound_all_types",
    "moe_reported_outbound",
    "moe_reported_returnees",
    "inbound_share_belt_and_road",
    "inbound_share_belt_and_road_listed",
    "inbound_share_asean_listed",
    "releases_total",
)


def status_column(column: str) -> str:
    """The column saying whether `column` is published, estimated or derived (inbound_students ->
    inbound_status, bringing_in_ratio -> bringing_in_ratio_status)."""
    return column.removesuffix("_students") + "_status"


def read_scorecard(marts: _Marts) -> tuple[list[dict[str, Any]], list[str]]:
    table = "mart_opening_up_scorecard"
    if not marts.has(table, "year"):
        return [], []
    columns = [c for c in SCORECARD_COLUMNS if c in marts.columns[table]]
    values = [c for c in columns if c != "year"]
    statuses = [status_column(c) for c in values if status_column(c) in marts.columns[table]]
    rows = marts.rows(f"""
        select {", ".join(columns + statuses)} from marts.{table}
        where year is not null and coalesce({", ".join(values) or "null"}) is not null
        order by year desc limit 12""")
    return rows, columns


def read_scorecard_note(marts: _Marts) -> str:
    """Where the scorecard's columns come from, and since when releases are collected."""
    table = "mart_opening_up_scorecard"
    if not marts.has(table, "year"):
        return ""
    parts = []
    for column, label in (
        ("inbound_source", "inbound"),
        ("outbound_source", "outbound"),
        ("moe_reported_inbound_source", "MOE inbound"),
        ("moe_reported_outbound_source", "MOE outbound"),
    ):
        if marts.has(table, column):
            named = marts.rows(f"select string_agg(distinct {column}, ', ' order by {column}) as s from marts.{table}")[
                0
            ]["s"]
            parts.append(f"{label} from {named or 'no source yet'}")
    if marts.has(table, "releases_coverage_start_year"):
        start = marts.rows(f"select min(releases_coverage_start_year) as s from marts.{table}")[0]["s"]
        parts.append(
            f"releases collected since {start}; earlier years: not collected" if start else "no releases collected yet"
        )
    return "; ".join(parts)


def read_report_data(con: duckdb.DuckDBPyConnection) -> ReportData:
    marts = _Marts(con)
    releases, release_total = read_releases(marts)
    scorecard, scorecard_columns = read_scorecard(marts)
    return ReportData(
        scorecard_note=read_scorecard_note(marts),
        row_counts={table: marts.count(table) for table in sorted(marts.columns)},
        mobility=read_mobility(marts),
        partners=read_partners(marts),
        themes=read_themes(marts),
        cooperation=read_cooperation(marts),
        releases=releases,
        release_total=release_total,
        scorecard=scorecard,
        scorecard_columns=scorecard_columns,
    )


# -- rendering ----------------------------------------------------------------------------------
def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def safe_href(url: str) -> str | None:
    """The URL, escaped for an attribute, when it is plain http(s); None for javascript:, data:, …"""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return esc(url.strip())


def _section(anchor: str, title: str, title_zh: str, subtitle: str, body: str, source: str = "") -> str:
    source_html = f'<p class="source">{esc(source)}</p>' if source else ""
    return (
        f'<section class="card" id="{anchor}"><h2>{esc(title)}<span class="zh" lang="zh-Hans">'
        f'{esc(title_zh)}</span></h2><p class="sub">{esc(subtitle)}</p>'
        f"<figure>{body}</figure>{source_html}</section>"
    )


def render_mobility(mobility: Mobility | None) -> str:
    subtitle = (
        "Internationally mobile students enrolled in China (inbound, 'bringing in') and Chinese "
        "students enrolled abroad (outbound, 'going global'), per year."
    )
    if mobility is None:
        return _section("mobility", "Bringing in vs going global", "引进来与走出去", subtitle, NO_DATA)
    series = [
        Series("Students coming to China (inbound)", mobility.inbound, INBOUND, marks=mobility.inbound_marks or None),
        Series(
            "Chinese students going abroad (outbound)",
            mobility.outbound,
            OUTBOUND,
            marks=mobility.outbound_marks or None,
        ),
    ]
    if any(v is not None for v in mobility.moe_inbound):
        series.append(Series("MOE: degree-seeking international students", mobility.moe_inbound, "#0b2545", "points"))
    if any(v is not None for v in mobility.moe_outbound):
        series.append(
            Series("MOE: students who left to study abroad that year", mobility.moe_outbound, "#b45309", "points")
        )
    svg = line_chart(
        mobility.years,
        series,
        y_title="students",
        label="Inbound and outbound internationally mobile students, China, by year",
    )
    return _section("mobility", "Bringing in vs going global", "引进来与走出去", subtitle, svg, mobility.note)


def render_partners(partners: Partners | None) -> str:
    title, title_zh = "Top partner countries", "主要合作国家"
    if partners is None:
        return _section("partners", title, title_zh, "Students exchanged with China's partner countries.", NO_DATA)
    if partners.from_exchange:
        subtitle = (
            f"Students from each country studying in China and Chinese students in that country, "
            f"{partners.year} (latest year with data for at least {MIN_PARTNERS} countries); the "
            f"{len(partners.labels)} largest exchanges."
        )
        series = [
            Series("Students coming to China", partners.to_china, INBOUND),
            Series("Chinese students going there", partners.from_china, OUTBOUND),
        ]
        source = (
            "Source: marts.mart_country_exchange"
            + (f" ({partners.sources})" if partners.sources else "")
            + "; right: policy releases mentioning the country (all years)."
        )
        notes = [f"{n} release{'s' if n != 1 else ''}" if n is not None else "" for n in partners.releases]
    else:
        subtitle = (
            f"International students hosted by and sent abroad from each tracked partner country, "
            f"{partners.year} (latest year with data). Bilateral flows with China appear here once "
            "the country-exchange mart is published."
        )
        series = [
            Series("International students hosted (inbound)", partners.to_china, INBOUND),
            Series("Students sent abroad (outbound)", partners.from_china, OUTBOUND),
        ]
        source = "Source: marts.fct_student_mobility joined to marts.dim_country."
        notes = None
    svg = hbar_chart(
        partners.labels, series, notes=notes, label=f"Students exchanged with partner countries, {partners.year}"
    )
    return _section("partners", title, title_zh, subtitle, svg, source)


def render_themes(themes: ThemeGrid | None) -> str:
    title, title_zh = "Policy releases per theme and year", "各主题政策发布数量"
    subtitle = "Number of releases whose title or text matches a theme's keywords (one release may match several)."
    if themes is None:
        return _section("themes", title, title_zh, subtitle, NO_DATA)
    svg = heatmap(
        themes.themes,
        [str(y) for y in themes.years],
        themes.counts,
        unit="releases",
        label="Policy releases per theme and year",
    )
    source = (
        f"Source: marts.bridge_release_theme × marts.fct_policy_release × marts.dim_theme; "
        f"{themes.releases_with_theme} releases matched at least one theme."
    )
    return _section("themes", title, title_zh, subtitle, svg, source)


def render_cooperation(cooperation: CooperationGrid | None) -> str:
    title, title_zh = (
        "Sino-foreign cooperative education approvals by partner country",
        "中外合作办学批准数量（按外方国家）",
    )
    subtitle = (
        "Institutions and programmes the Ministry's register lists as approved each year, by the country "
        "of the foreign partner (one with partners in two countries counts for each)."
    )
    if cooperation is None:
        return _section("cooperation", title, title_zh, subtitle, NO_DATA)
    svg = heatmap(
        cooperation.countries,
        [str(y) for y in cooperation.years],
        cooperation.counts,
        unit="approvals",
        label="Cooperative institutions and programmes approved per partner country and year",
    )
    source = (
        "Source: marts.mart_country_exchange (cooperative_institutions_approved + "
        "cooperative_programmes_approved, from marts.fct_cooperative_programme); entries without an "
        "approval date or with a partner in marts.cooperative_partner_quarantine are not counted."
    )
    return _section("cooperation", title, title_zh, subtitle, svg, source)


def render_releases(releases: list[Release], total: int) -> str:
    title, title_zh = "Latest policy releases", "最新政策发布"
    subtitle = f"The {len(releases)} most recent of {total} releases in the warehouse."
    if not releases:
        return _section("releases", title, title_zh, "Policy releases collected from official sources.", NO_DATA)
    rows = []
    for r in releases:
        href = safe_href(r.url)
        # Titles are scraped text: escaped, so markup in them shows as text and never runs.
        title_html = (
            esc(r.title) if href is None else (f'<a href="{href}" rel="noopener noreferrer">{esc(r.title)}</a>')
        )
        lang = f' lang="{"zh-Hans" if r.language == "zh" else "en"}"' if r.language in ("zh", "en") else ""
        tags = "".join(f'<span class="tag">{esc(t)}</span>' for t in r.themes)
        rows.append(
            f'<tr><td class="date">{esc(r.published.isoformat() if r.published else "—")}</td>'
            f'<td class="title"{lang}>{title_html}<div>{tags}</div></td>'
            f'<td class="src">{esc(SOURCE_LABELS.get(r.source, r.source))}'
            f"{f'<span class=lang>{esc(r.language)}</span>' if r.language else ''}</td></tr>"
        )
    table = (
        "<table><thead><tr><th>Date</th><th>Title</th><th>Source</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    return _section("releases", title, title_zh, subtitle, table, "Source: marts.fct_policy_release.")


STATUS_SIGNS = {"estimate": "e", "derived": "d"}


def _format_cell(column: str, value: Any, fractions: bool, status: Any = None) -> str:
    if value is None:
        # a count of releases before collection began is unknown, not zero
        text = "not collected" if column == "releases_total" else "—"
        return f'<td class="num missing">{text}</td>'
    if column == "year":
        return f'<td class="num">{int(value)}</td>'
    if column == "bringing_in_ratio":
        shown = f"{float(value):.2f}"
    elif column.startswith("inbound_share_"):
        shown = f"{float(value) * (100 if fractions else 1):.1f}%"
    else:
        shown = esc(full(float(value)))
    sign = STATUS_SIGNS.get(str(status)) if status else None
    if sign:
        return f'<td class="num {esc(status)}" title="{esc(status)}">{shown}<sup class="status">{sign}</sup></td>'
    return f'<td class="num">{shown}</td>'


SCORECARD_HEADINGS = {
    "year": "Year",
    "inbound_students": "Inbound (UIS)",
    "outbound_students": "Outbound (UIS)",
    "bringing_in_ratio": "In / out",
    "moe_reported_inbound": "MOE degree-seeking",
    "moe_reported_inbound_all_types": "MOE all types",
    "moe_reported_outbound": "MOE going abroad",
    "moe_reported_returnees": "MOE returnees",
    "inbound_share_belt_and_road": "Belt & Road share (MOE)",
    "inbound_share_belt_and_road_listed": "Belt & Road, listed ≥",
    "inbound_share_asean_listed": "ASEAN, listed ≥",
    "releases_total": "Release events",
}


def render_scorecard(rows: list[dict[str, Any]], columns: list[str], note: str = "") -> str:
    if not columns:
        return ""  # the mart is not published yet; the chart above already says where data came from
    title, title_zh = "Opening-up scorecard", "教育对外开放记分卡"
    subtitle = (
        "Per year, like with like: UIS inbound (internationally mobile, degree-seeking students) "
        "beside MOE's degree-seeking international students (学历生); MOE's all-types total also "
        "counts non-degree and short-term students. Belt & Road share as MOE states it; "
        "'listed ≥' shares count only the countries MOE names in its top-15 list, so they are "
        "lower bounds. Releases count events (a release and its translations or reposts once)."
    )
    if not rows:
        return _section("scorecard", title, title_zh, subtitle, NO_DATA)
    # Shares may be stored as fractions (0–1) or as percentages: decide per column, not per cell.
    fractions = {c: all(r[c] is None or float(r[c]) <= 1 for r in rows) for c in columns}
    head = "".join(f'<th class="num">{esc(SCORECARD_HEADINGS[c])}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(_format_cell(c, r[c], fractions[c], r.get(status_column(c))) for c in columns) + "</tr>"
        for r in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    source = "Source: marts.mart_opening_up_scorecard (latest 12 years with data)"
    source += f": {note}." if note else "."
    if any(r.get(status_column(c)) in NOT_AS_PUBLISHED for r in rows for c in columns):
        source += (
            " e: an estimate the source itself flags; d: derived here from published series"
            " (the mart's documentation says how)."
        )
    return _section("scorecard", title, title_zh, subtitle, table, source)


def _latest(values: list[float | None], years: list[int]) -> tuple[float, int] | None:
    for value, year in zip(reversed(values), reversed(years), strict=True):
        if value is not None:
            return value, year
    return None


def render_kpis(data: ReportData) -> str:
    tiles = []
    mobility = data.mobility
    for css, label, attribute in (
        ("inbound", "Students coming to China", "inbound"),
        ("outbound", "Chinese students abroad", "outbound"),
    ):
        found = _latest(getattr(mobility, attribute), mobility.years) if mobility else None
        value, hint = (full(found[0]), f"in {found[1]}") if found else ("—", "no data yet")
        tiles.append((css, label, value, hint))
    both = (
        [
            (i, o, y)
            for i, o, y in zip(mobility.inbound, mobility.outbound, mobility.years, strict=True)
            if i is not None and o
        ]
        if mobility
        else []
    )
    if both:
        inbound, outbound, year = both[-1]
        tiles.append(
            ("ratio", "Bringing in per going global", f"{inbound / outbound:.2f}", f"inbound ÷ outbound, {year}")
        )
    else:
        tiles.append(("ratio", "Bringing in per going global", "—", "no data yet"))
    matched = f"{data.themes.releases_with_theme} matched a theme" if data.themes else "no theme matched yet"
    tiles.append(("releases", "Policy releases tracked", f"{data.release_total:,}", matched))
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi {css}"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
            f'<div class="hint">{esc(hint)}</div></div>'
            for css, label, value, hint in tiles
        )
        + "</div>"
    )


def render_row_counts(counts: dict[str, int]) -> str:
    if not counts:
        return NO_DATA
    return (
        '<dl class="counts">'
        + "".join(f"<div><dt>marts.{esc(t)}</dt><dd>{n:,}</dd></div>" for t, n in counts.items())
        + "</dl>"
    )


def render(
    data: ReportData, *, published_at: str, warehouse_version: str, generated_at: str, warehouse_path: str
) -> str:
    sections = "\n".join(
        part
        for part in (
            render_mobility(data.mobility),
            render_partners(data.partners),
            render_themes(data.themes),
            render_cooperation(data.cooperation),
            render_scorecard(data.scorecard, data.scorecard_columns, data.scorecard_note),
            render_releases(data.releases, data.release_total),
        )
        if part
    )
    template = Template((TEMPLATES / "report.html").read_text(encoding="utf-8"))
    return template.substitute(
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
        kpis=render_kpis(data),
        sections=sections,
        row_counts=render_row_counts(data.row_counts),
        published_at=esc(published_at),
        warehouse_version=esc(warehouse_version),
        generated_at=esc(generated_at),
        warehouse_path=esc(warehouse_path),
    )


# -- provenance and writing ---------------------------------------------------------------------
def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def publish_info(home: Home) -> tuple[str, str]:
    """(when the data was published, which version): the newest publish-log entry, else the file mtime."""
    log_path = home.state / "publish_log.jsonl"
    if log_path.exists():
        for line in reversed(log_path.read_text(encoding="utf-8", errors="replace").splitlines()):
            try:
                entry = json.loads(line)
                when = datetime.fromisoformat(entry["published_at"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a crash must not hide the entry before it
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            sha = str(entry.get("sha256") or "")
            action = "rolled back to" if entry.get("action") == "rollback" else "sha256"
            return _utc_text(when), f"{action} {sha[:12]}…" if sha else "unknown version"
    mtime = datetime.fromtimestamp(home.warehouse.stat().st_mtime, tz=UTC)
    return f"{_utc_text(mtime)} (file time)", "no publish log"


def report_path(home: Home) -> Path:
    return home.docs / "report" / "index.html"


def build_report(home: Home | None = None) -> Path:
    """Write `docs/report/index.html` from the published warehouse (read-only) and return its path.

    Raises `PublishError` when nothing has been published yet.
    """
    home = home or Home.from_env()
    if not home.warehouse.exists():
        raise PublishError(
            f"no published warehouse at {home.warehouse}; run `eduopen pipeline` (or `eduopen publish`) first"
        )
    published_at, version = publish_info(home)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        data = read_report_data(con)
    finally:
        con.close()
    html = render(
        data,
        published_at=published_at,
        warehouse_version=version,
        generated_at=_utc_text(datetime.now(UTC)),
        warehouse_path=str(home.warehouse),
    )
    target = report_path(home)
    atomic_write_text(target, html)
    return target


def main() -> int:
    """`python -m eduopen.report.html`: build the report for `$EDUOPEN_HOME` and print its path."""
    try:
        path = build_report()
    except EduOpenError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
