"""Synthetic raw catalogs at 1x, 10x and 100x a realistic volume, written with DuckDB SQL.

Every row comes from `range()` and `hash(row, seed, salt)`: no Python loop over rows, no
randomness outside the seed, so one seed and one anchor date give the same catalog on every run
(with the same DuckDB version, whose `hash()` it relies on) and 1x is written in seconds. Times are
counted back from the anchor (default: today, UTC): the quality gate checks that the newest rows
are recent and none lies in the future, so a fixed calendar would fail it a month later.
The tables and columns are those of `ingest.raw_store.SCHEMA`, created by `RawStore` itself.

Volume at 1x (more than all the real sources hold today):

* `release_version` ~20,000 rows: moe_zh (Chinese), moe_en, gov_en, feeds (English); 3% of the
  URLs have a second version; titles and bodies carry the theme keywords of the `themes` seed and
  country names of the `countries` seed, so the theme bridge and the country mentions have work.
  ~10% of releases state two headline figures, also written to `release_figure`; each year's
  first moe_zh statistical bulletin states the year before's international students in China
  (total, degree-seeking, by country) in `release_statistic`.
* `observation` ~506,000 rows, source 'uis': the six UIS mobility indicators (26637,
  OE.5T8.40510, MENF.5T8, MSEP.5T8, MOR.5T8.40510, 26528) plus 38 other indicators, over 230 geo
  units (215 ISO3 countries, 15 regional aggregates) x 50 years; ~3% NA / NIL magnitudes.
* `flow_observation` ~984,000 rows, source 'oecd': 230 origins x 214 destinations x 20 years.

`small_volume()` is a catalog of a few thousand rows per table (20 countries, 2 regions, 10
years, 300 releases) for tests that need dbt's marts of synthetic data.

10x and 100x multiply the series: more releases, more indicators (UIS publishes thousands) and
more flow breakdowns (by level of study and sex), over the same countries and years; the marts of
statistics therefore stay about the same size while the raw tables grow.

`append_increment` adds 1% new data: newer releases, a 2025 value for half the indicator series
(1% of the observations) and 2025 flows for a fifth of the pairs (1% of the flows).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from eduopen.core.paths import DBT_PROJECT_DIR, Home
from ingest.raw_store import RawStore

SCALES: dict[str, int] = {"1x": 1, "10x": 10, "100x": 100}
DEFAULT_SEED = 20_260_101

# Real ISO 3166-1 alpha-3 codes (countries the UIS reports on), none of them a World Bank
# aggregate code of the geo_aggregates seed.
COUNTRIES = """
AFG ALB DZA AND AGO ATG ARG ARM ABW AUS AUT AZE BHS BHR BGD BRB BLR BEL BLZ BEN BMU BTN BOL BIH
BWA BRA VGB BRN BGR BFA BDI CPV KHM CMR CAN CYM CAF TCD CHL CHN COL COM COG COK CRI CIV HRV CUB
CUW CYP CZE PRK COD DNK DJI DMA DOM ECU EGY SLV GNQ ERI EST SWZ ETH FJI FIN FRA GAB GMB GEO DEU
GHA GRC GRD GTM GIN GNB GUY HTI HND HKG HUN ISL IND IDN IRN IRQ IRL ISR ITA JAM JPN JOR KAZ KEN
KIR KWT KGZ LAO LVA LBN LSO LBR LBY LIE LTU LUX MAC MDG MWI MYS MDV MLI MLT MHL MRT MUS MEX FSM
MCO MNG MNE MSR MAR MOZ MMR NAM NRU NPL NLD NZL NIC NER NGA NIU MKD NOR OMN PAK PLW PSE PAN PNG
PRY PER PHL POL PRT QAT KOR MDA ROU RUS RWA KNA LCA VCT WSM SMR STP SAU SEN SRB SYC SLE SGP SXM
SVK SVN SLB SOM ZAF SSD ESP LKA SDN SUR SWE CHE SYR TJK THA TLS TGO TKL TON TTO TUN TUR TKM TCA
TUV UGA UKR ARE GBR TZA USA URY UZB VUT VEN VNM YEM ZMB ZWE PRI NCL PYF GRL FRO GIB IMN GUM
""".split()
# Regional units as the UIS names them: never countries, dropped from the country marts.
REGIONS = [
    "SDG: Europe and Northern America",
    "SDG: Eastern and South-Eastern Asia",
    "SDG: Sub-Saharan Africa",
    "SDG: Latin America and the Caribbean",
    "SDG: Northern Africa and Western Asia",
    "SDG: Central and Southern Asia",
    "SDG: Oceania",
    "WB: East Asia & Pacific",
    "WB: Europe & Central Asia",
    "WB: High income",
    "WB: Low income",
    "UIS: World",
    "UIS: Arab States",
    "UIS: Small Island Developing States",
    "GEMR: Southern Asia",
]
GEO_UNITS = COUNTRIES + REGIONS
assert len(COUNTRIES) == 215 and len(set(COUNTRIES)) == 215 and len(GEO_UNITS) == 230
MOBILITY_INDICATORS = ["26637", "OE.5T8.40510", "MENF.5T8", "MSEP.5T8", "MOR.5T8.40510", "26528"]
INDICATORS_PER_SCALE = 44
OBS_FIRST_YEAR, OBS_YEARS = 1975, 50
FLOW_FIRST_YEAR, FLOW_YEARS = 2005, 20
NEW_YEAR = 2025
RELEASE_URLS_PER_SCALE = 19_420  # + 3% second versions ~ 20,000 release_version rows
RELEASE_DAYS = 4_322  # about 12 years of releases, ending three weeks before the anchor
NEW_RELEASE_DAYS = 18  # the 1% increment: releases of the last three weeks

PROVINCES = [
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "全国",
]
CITIES = [
    "Beijing",
    "Shanghai",
    "Guangzhou",
    "Shenzhen",
    "Tianjin",
    "Chongqing",
    "Chengdu",
    "Wuhan",
    "Xi'an",
    "Hangzhou",
    "Nanjing",
    "Kunming",
    "Guiyang",
    "Nanning",
    "Harbin",
    "Urumqi",
    "Xiamen",
    "Qingdao",
    "Dalian",
    "Changsha",
    "Fuzhou",
    "Hefei",
    "Jinan",
    "Lanzhou",
    "Haikou",
    "Hohhot",
    "Lhasa",
    "Shenyang",
    "Changchun",
    "Zhengzhou",
    "Taiyuan",
    "Yinchuan",
    "Xining",
    "Macao",
]
ZH_TITLE = (
    ["教育部", "教育部国际司", "教育部办公厅", "国务院办公厅"],
    ["关于推进", "印发", "召开", "部署"],
    ["工作的通知", "座谈会", "专题会议", "实施方案", "工作要点"],
)
EN_TITLE = (
    ["Ministry of Education", "State Council", "MOE", "Chinese universities"],
    ["advances", "launches", "holds forum on", "outlines plan for"],
    ["this year", "in new guideline", "at annual meeting", "with partners", "to 2030"],
)
ZH_PARAGRAPHS = [
    "教育部召开专题会议，研究部署{k}相关工作，强调要统筹推进教育对外开放。",
    "会议指出，要深化与{c}等国家的教育交流合作，稳步推进{k}。",
    "近日，{c}教育代表团访华，双方就{k}等议题深入交换意见，并签署了合作备忘录。",
    "各地教育行政部门要结合实际，扎实做好{k}各项工作，确保政策落地见效，服务国家发展大局。",
    "据介绍，今年共有来自{c}的多所高校参与{k}项目，涵盖工程、医学、农业和语言等领域。",
    "下一步，教育部将继续完善{k}工作机制，提升教育国际化水平，推动形成全方位、多层次的合作格局。",
    "中方愿同{c}一道，在多边框架下加强教育政策对话，共同应对全球教育面临的挑战。",
    "与会代表围绕人才培养、科研合作和人文交流等议题展开深入讨论，一致同意建立常态化沟通机制。",
]
EN_PARAGRAPHS = [
    "The Ministry of Education held a meeting on {k} and called for steady progress in opening up education.",
    "Officials from {c} joined the talks on {k}, according to a statement released after the meeting.",
    "The programme will expand cooperation with universities in {c} over the next three years.",
    "Provincial education departments were asked to implement the {k} measures in full and on time.",
    "A delegation from {c} visited Beijing to discuss {k} and joint research in science and engineering.",
    "The ministry said it would keep improving the mechanisms for {k} and share progress with partners.",
    "More than 30 universities took part in the event, which included workshops and a partnership fair.",
]
# metric, unit, Chinese sentence, English sentence ({y} year, {v} value)
FIGURES = [
    (
        "international_students_in_china",
        "persons",
        "{y}年共有{v}名各类外国留学人员在全国高等院校学习。",
        "A total of {v} international students studied in China in {y}.",
    ),
    (
        "students_going_abroad",
        "persons",
        "{y}年度我国出国留学人员总数为{v}人。",
        "In {y}, {v} Chinese students went abroad to study.",
    ),
    (
        "returnees",
        "persons",
        "{y}年度各类留学回国人员总数为{v}人。",
        "In {y}, {v} overseas students returned to China.",
    ),
    (
        "host_institutions",
        "institutions",
        "{y}年共有{v}所高等院校接收外国留学人员。",
        "International students were enrolled in {v} institutions in {y}.",
    ),
    (
        "government_scholarship_students",
        "persons",
        "{y}年中国政府奖学金生共{v}名。",
        "In {y}, {v} students held a Chinese Government Scholarship.",
    ),
]
RELEASE_SOURCES = [  # source, language, share of URLs (percent), listing columns
    ("moe_zh", "zh", 55, ["work_news", "press", "international_cooperation", "statistical_bulletins"]),
    ("moe_en", "en", 15, ["press_releases", "media_highlights"]),
    ("gov_en", "en", 15, ["latestreleases"]),
    ("feeds", "en", 15, [None]),
]
ISSUERS_ZH = ["教育部", "教育部国际合作与交流司", "中国教育报", "教育部办公厅", "国务院新闻办公室"]
ISSUERS_EN = ["Ministry of Education", "China Daily", "Xinhua", "State Council Information Office"]


@dataclass(frozen=True)
class Volume:
    """Row-defining dimensions of one scale.

    The scales keep every country, region and year and multiply releases and series by `factor`;
    a smaller catalog (`small_volume`, for tests that need dbt's marts on a small scale) keeps fewer.
    """

    factor: int
    countries: tuple[str, ...] = tuple(COUNTRIES)
    regions: tuple[str, ...] = tuple(REGIONS)
    obs_years: int = OBS_YEARS
    flow_years: int = FLOW_YEARS
    release_urls_per_factor: int = RELEASE_URLS_PER_SCALE
    indicators_per_factor: int = INDICATORS_PER_SCALE

    @property
    def geo_units(self) -> list[str]:
        return [*self.countries, *self.regions]

    @property
    def obs_first_year(self) -> int:
        # the most recent years, so a short series still overlaps the releases and the flows
        return OBS_FIRST_YEAR + OBS_YEARS - self.obs_years

    @property
    def flow_first_year(self) -> int:
        return FLOW_FIRST_YEAR + FLOW_YEARS - self.flow_years

    @property
    def release_urls(self) -> int:
        return self.release_urls_per_factor * self.factor

    @property
    def indicators(self) -> int:
        return self.indicators_per_factor * self.factor

    @property
    def observations(self) -> int:
        return self.indicators * len(self.geo_units) * self.obs_years

    @property
    def flow_pairs(self) -> int:
        # every origin (countries and regions) x every country but itself
        return len(self.geo_units) * (len(self.countries) - 1)

    @property
    def flow_indicators(self) -> int:
        return self.factor

    @property
    def flows(self) -> int:
        return self.flow_indicators * self.flow_pairs * self.flow_years


# China, its neighbours and the countries MOE names most often (moe_country_names), ASEAN members
# among them, so the scorecard, the country exchange and the ASEAN share all have rows.
SMALL_COUNTRIES = (
    "CHN", "KOR", "JPN", "MNG", "RUS", "USA", "GBR", "FRA", "DEU", "AUS",
    "CAN", "IND", "PAK", "KAZ", "THA", "VNM", "LAO", "IDN", "MYS", "SGP",
)  # fmt: skip


def small_volume() -> Volume:
    """A catalog of a few thousand rows per table: 20 countries, 2 regions, 10 years, 300 releases."""
    return Volume(
        factor=1,
        countries=SMALL_COUNTRIES,
        regions=tuple(REGIONS[:2]),
        obs_years=10,
        flow_years=10,
        release_urls_per_factor=300,
        indicators_per_factor=len(MOBILITY_INDICATORS) + 2,
    )


def volume(scale: str) -> Volume:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    return Volume(SCALES[scale])


# -- SQL helpers ------------------------------------------------------------------------------


def _lit(text: str | None) -> str:
    return "null" if text is None else "'" + text.replace("'", "''") + "'"


def _list(values: list[str | None]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _pick(values: list[str | None], hash_expr: str) -> str:
    """One element of a constant list, chosen by a hash (DuckDB lists are 1-based)."""
    return f"{_list(values)}[1 + ({hash_expr}) % {len(values)}]"


def _seed_rows(name: str) -> list[dict[str, str]]:
    with (DBT_PROJECT_DIR / "seeds" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class _Hasher:
    def __init__(self, seed: int):
        self.seed = seed

    def __call__(self, expr: str, salt: str) -> str:
        # 62 bits as a signed bigint: lists, range() and intervals take BIGINT, not UBIGINT
        return f"cast(hash({expr}, {self.seed}, '{salt}') >> 2 as bigint)"


# -- releases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """The synthetic calendar, counted back from `anchor` (the day the data was "crawled")."""

    anchor: date

    @property
    def release_origin(self) -> str:
        # day 0 of the base releases, midnight in Beijing (the issuers' clock)
        start = self.anchor - timedelta(days=RELEASE_DAYS + NEW_RELEASE_DAYS + 3)
        return f"timestamptz '{start.isoformat()} 00:00:00+08'"

    @property
    def increment_from(self) -> str:
        start = self.anchor - timedelta(days=NEW_RELEASE_DAYS + 3)
        return f"timestamptz '{start.isoformat()} 00:00:00+08'"

    @property
    def latest_seen(self) -> str:
        """Nothing was first seen after this: an hour before the anchor day begins."""
        return f"timestamptz '{self.anchor.isoformat()} 00:00:00+00' - interval 1 hour"

    def loaded(self, days_before: int) -> str:
        return f"{(self.anchor - timedelta(days=days_before)).isoformat()} 00:00:00+00"


def today() -> date:
    return datetime.now(UTC).date()


def _release_select(first_url: int, count: int, seed: int, clock: Clock, *, first_day: int, days: int) -> str:
    """SELECT of release_version rows for URL numbers [first_url, first_url + count)."""
    h = _Hasher(seed)
    themes = _seed_rows("themes")
    zh_keywords = sorted({r["keyword"] for r in themes if r["language"] == "zh"})
    en_keywords = sorted({r["keyword"] for r in themes if r["language"] == "en"})
    countries = _seed_rows("countries")
    zh_countries = [r["name_zh"] for r in countries if r["name_zh"]]
    en_countries = [r["name_en"] for r in countries if r["name_en"]]

    source_case, language_case, column_case = [], [], []
    bound = 0
    for source, language, share, columns in RELEASE_SOURCES:
        bound += share
        cond = f"when {h('u', 'src')} % 100 < {bound}"
        source_case.append(f"{cond} then {_lit(source)}")
        language_case.append(f"{cond} then {_lit(language)}")
        column_case.append(f"{cond} then {_pick(columns, h('u', 'col'))}")

    def paragraph(templates: list[str], keywords: list[str], names: list[str], lang: str) -> str:
        # j is the paragraph number inside the lambda; every choice hashes (url number, j)
        template = _pick(templates, h("u, j", f"t{lang}"))
        keyword = _pick(keywords, h("u, j", f"k{lang}"))
        name = _pick(names, h("u, j", f"c{lang}"))
        return f"replace(replace({template}, '{{k}}', {keyword}), '{{c}}', {name})"

    def figure_sentences(lang: str) -> str:
        parts = []
        for i in range(2):
            sentence = _pick([f[2] if lang == "zh" else f[3] for f in FIGURES], h("url", f"fm{i}"))
            value = f"cast({h('url', f'fv{i}')} % 600000 + 1000 as varchar)"
            parts.append(
                f"replace(replace({sentence}, '{{y}}', cast(year(published_at) - 1 as varchar)), '{{v}}', {value})"
            )
        return " || chr(10) || ".join(parts)

    zh_title = " || ".join(
        [
            _pick(ZH_TITLE[0], h("u", "tz0")),
            _pick(ZH_TITLE[1], h("u", "tz1")),
            _pick(zh_keywords, h("u", "tz2")),
            _pick(ZH_TITLE[2], h("u", "tz3")),
            "'（'",
            _pick(PROVINCES, h("u", "tz4")),
            "'）'",
        ]
    )
    en_title = " || ' ' || ".join(
        [
            _pick(EN_TITLE[0], h("u", "te0")),
            _pick(EN_TITLE[1], h("u", "te1")),
            _pick(en_keywords, h("u", "te2")),
            _pick(EN_TITLE[2], h("u", "te3")),
            "'in'",
            _pick(CITIES, h("u", "te4")),
        ]
    )
    day_ts = "published_at"
    ym = f"strftime(timezone('Asia/Shanghai', {day_ts}), '%Y%m')"
    ymd = f"strftime(timezone('Asia/Shanghai', {day_ts}), '%Y%m%d')"
    dd = f"strftime(timezone('Asia/Shanghai', {day_ts}), '%d')"
    number = "cast(1100000 + u as varchar)"
    return f"""
with urls as (
    select
        u,
        case {" ".join(source_case)} end as source,
        case {" ".join(language_case)} end as language,
        case {" ".join(column_case)} end as listing_column,
        {clock.release_origin}
            + to_days({first_day} + cast({h("u", "day")} % {days} as integer))
            + to_minutes(cast(480 + {h("u", "min")} % 600 as integer)) as published_at,
        3 + {h("u", "npar")} % 4 as paragraphs,
        {h("u", "ver")} % 100 < 3 as versioned
    from range({first_url}, {first_url + count}) as t(u)
),
located as (
    select
        *,
        case source
            when 'moe_zh' then 'http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/moe_1485/' || {ym} || '/t' || {ymd}
                || '_' || {number} || '.html'
            when 'moe_en' then 'http://en.moe.gov.cn/news/press_releases/' || {ym} || '/t' || {ymd}
                || '_' || {number} || '.html'
            when 'gov_en' then 'https://english.www.gov.cn/policies/latestreleases/' || {ym} || '/' || {dd}
                || '/content_WS' || lower(printf('%012X', u)) || '.html'
            else 'https://www.chinadaily.com.cn/a/' || {ym} || '/' || {dd} || '/WS' || {number} || '.html'
        end as url
    from urls
),
texts as (
    select
        *,
        {h("url", "fig")} % 10 = 0 as states_figures,
        case when language = 'zh' then {zh_title} else {en_title} end as title,
        case when language = 'zh'
            then array_to_string(list_transform(range(paragraphs),
                lambda j: {paragraph(ZH_PARAGRAPHS, zh_keywords, zh_countries, "zh")}), chr(10))
            else array_to_string(list_transform(range(paragraphs),
                lambda j: {paragraph(EN_PARAGRAPHS, en_keywords, en_countries, "en")}), chr(10))
        end as body
    from located
),
versions as (
    select texts.*, v.version
    from texts, (select unnest([0, 1]) as version) as v
    where v.version = 0 or texts.versioned
),
final as (
    select
        source,
        url,
        sha256(url || '#' || cast(version as varchar)) as content_sha256,
        language,
        title,
        published_at,
        case
            when states_figures and language = 'zh' then {figure_sentences("zh")} || chr(10) || body
            when states_figures then {figure_sentences("en")} || chr(10) || body
            else body
        end
            || case when version = 1 and language = 'zh' then chr(10) || '（本文已于发布后更新。）'
                    when version = 1 then chr(10) || '(This article was updated after publication.)'
                    else '' end as body_text,
        case when language = 'zh' then {_pick(ISSUERS_ZH, h("u", "iss"))}
             else {_pick(ISSUERS_EN, h("u", "iss"))} end as issuing_body,
        case when language = 'zh' and {h("u", "doc")} % 5 = 0
             then '教外函〔' || cast(year(published_at) as varchar) || '〕'
                  || cast(1 + {h("u", "docn")} % 90 as varchar) || '号' end as document_number,
        case when {h("u", "csrc")} % 2 = 0 then
            case when language = 'zh' then {_pick(ISSUERS_ZH, h("u", "iss"))}
                 else {_pick(ISSUERS_EN, h("u", "iss"))} end end as content_source,
        listing_column,
        case when {h("u", "att")} % 20 = 0 then cast('[]' as json) end as attachments,
        -- seen within two days of publication; a second version days later, never after the anchor
        case when version = 0 then published_at + to_minutes(cast(5 + {h("u", "seen")} % 2880 as integer))
             else least(published_at + to_minutes(cast(5 + {h("u", "seen")} % 2880 as integer))
                            + to_days(cast(3 + {h("u", "seen2")} % 60 as integer)),
                        {clock.latest_seen})
        end as first_seen_at
    from versions
)
select * from final
"""


_RELEASE_COLUMNS = (
    "source, url, content_sha256, language, title, published_at, body_text, issuing_body, "
    "document_number, content_source, listing_column, attachments, first_seen_at"
)


def _figures_select(seed: int, url_filter: str) -> str:
    """release_figure rows for the release versions that state figures (same hashes as their text)."""
    h = _Hasher(seed)
    rows = []
    for i in range(2):
        metric = _pick([f[0] for f in FIGURES], h("url", f"fm{i}"))
        unit = _pick([f[1] for f in FIGURES], h("url", f"fm{i}"))
        zh = _pick([f[2] for f in FIGURES], h("url", f"fm{i}"))
        en = _pick([f[3] for f in FIGURES], h("url", f"fm{i}"))
        value = f"{h('url', f'fv{i}')} % 600000 + 1000"
        year = "year(published_at) - 1"
        sentence = (
            f"replace(replace(case when language = 'zh' then {zh} else {en} end, "
            f"'{{y}}', cast({year} as varchar)), '{{v}}', cast({value} as varchar))"
        )
        rows.append(f"""
select source, url, content_sha256, {i} as figure_index, {metric} as metric, cast({value} as double) as value,
       {unit} as unit, 'exact' as qualifier, cast({year} as integer) as period_year, {sentence} as sentence
from release_version
where {h("url", "fig")} % 10 = 0 and {url_filter}""")
    return " union all ".join(rows)


def _statistics_select(seed: int, vol: Volume) -> str:
    """release_statistic rows: the year's first statistical bulletin of moe_zh (every version of it)
    states the previous year's international students in China, in total, degree-seeking and by
    country (the countries of the volume MOE names, under its first Chinese name)."""
    h = _Hasher(seed)
    first_name: dict[str, str] = {}
    for row in _seed_rows("moe_country_names"):
        if row["country_iso3"] in vol.countries:
            first_name.setdefault(row["country_iso3"], row["member"])
    members = [("total", "总数"), ("degree_level", "学历生")] + [("country", m) for m in first_name.values()]
    member_rows = ", ".join(f"({k}, {_lit(b)}, {_lit(m)})" for k, (b, m) in enumerate(members))
    # numbers per (year, row): every version and repost of the bulletin states the same ones. The
    # countries together stay below the smallest total (400,000), as a real bulletin's do, so
    # every share the scorecard derives from them is a share.
    per_country = max(1, 300000 // max(1, len(first_name)))
    value = f"""case breakdown when 'total' then 400000 + {h("period_year", "st")} % 100000
                                 when 'degree_level' then 200000 + {h("period_year", "sd")} % 50000
                                 else 1 + {h("period_year, row_index", "sc")} % {per_country} end"""
    return f"""
with bulletins as (
    select url, year(timezone('Asia/Shanghai', min(published_at))) - 1 as period_year
    from release_version
    where source = 'moe_zh' and listing_column = 'statistical_bulletins'
    group by url
    qualify row_number() over (partition by period_year order by min(published_at), url) = 1
),
members(row_index, breakdown, member) as (values {member_rows}),
final as (
    select
        v.source,
        v.url,
        v.content_sha256,
        m.row_index,
        b.period_year,
        'international_students_in_china' as measure,
        m.breakdown,
        m.member,
        cast({value} as double) as value,
        'persons' as unit,
        'exact' as qualifier,
        cast(b.period_year as varchar) || '年，' || m.member || '来华留学人员共'
            || cast({value} as varchar) || '名。' as sentence
    from bulletins b
    join release_version v using (url)
    cross join members m
)
select * from final
"""


# -- statistics ---------------------------------------------------------------------------------


def _indicator_id() -> str:
    """SQL expression of the indicator id of indicator number `ind` (the mobility ones first)."""
    mobility = _list(MOBILITY_INDICATORS)
    n = len(MOBILITY_INDICATORS)
    return (
        f"case when ind < {n} then {mobility}[1 + ind] else 'SYN.' || lpad(cast(ind - {n} + 1 as varchar), 5, '0') end"
    )


def _observation_select(
    seed: int,
    vol: Volume,
    *,
    per_indicator: int,
    year_expr: str,
    first_row: int,
    row_count: int,
    batch_salt: str,
    loaded_at: str,
) -> str:
    h = _Hasher(seed)
    geo_units = vol.geo_units
    geo = _list(geo_units)
    years = vol.obs_years if year_expr == "auto" else 1
    year = f"{vol.obs_first_year} + i % {vol.obs_years}" if year_expr == "auto" else year_expr
    # value ranges per indicator so the gate's bounds (counts >= 0, rates within 0..100) hold;
    # a country's inbound students move within +-10% a year around its own level, as real series
    # do (the gate flags a tenfold jump)
    inbound_level = f"{h('geo_unit', 'inbound')} % 500000 + 100"
    value = f"""case indicator_id
            when '26637' then round(({inbound_level}) * (90 + {h("i, year", "v")} % 21) / 100.0)
            when 'OE.5T8.40510' then cast({h("i, year", "v")} % 1000000 as double)
            when 'MENF.5T8' then cast({h("i, year", "v")} % 1000000 as double) - 500000
            when 'MSEP.5T8' then round(({h("i, year", "v")} % 60000) / 1000.0, 3)
            when 'MOR.5T8.40510' then round(({h("i, year", "v")} % 200000) / 1000.0, 3)
            when '26528' then cast({h("i, year", "v")} % 300000 as double)
            else round(({h("i, year", "v")} % 1000000) / 1000.0, 3)
        end"""
    return f"""
with points as (
    select
        i,
        i // {per_indicator} as ind,
        {geo}[1 + (i // {years}) % {len(geo_units)}] as geo_unit,
        cast({year} as integer) as year,
        {h("i, year", "mag")} % 100 as mag_draw,
        {h("i, year", "qual")} % 100 as qual_draw
    from range({first_row}, {first_row + row_count}) as t(i)
),
typed as (
    select *, {_indicator_id()} as indicator_id from points
),
final as (
    select
        'uis' as source,
        indicator_id,
        geo_unit,
        year,
        -- NA: no value at all; NIL: the API's placeholder 0, which staging must turn into NULL
        case when mag_draw < 2 then null when mag_draw < 3 then 0 else {value} end as value,
        case when mag_draw < 2 then null when mag_draw < 3 then '0' else cast({value} as varchar) end
            as value_raw,
        case when mag_draw < 2 then 'NA' when mag_draw < 3 then 'NIL' end as magnitude,
        case when qual_draw < 10 then 'UIS_EST' when qual_draw < 15 then 'NAT_EST' end as qualifier,
        '20260915' as data_version,
        sha256('{batch_salt}-' || indicator_id) as batch_sha256,
        timestamptz '{loaded_at}' + to_seconds(ind) as loaded_at
    from typed
)
select * from final
"""


def _flow_select(
    seed: int,
    vol: Volume,
    *,
    first_row: int,
    row_count: int,
    indicators: int,
    year_expr: str,
    pair_filter: str,
    batch_salt: str,
    loaded_at: str,
) -> str:
    h = _Hasher(seed)
    origins = _list(vol.geo_units)
    destinations = _list(list(vol.countries))
    others = len(vol.countries) - 1
    years = vol.flow_years if year_expr == "auto" else 1
    year = f"{vol.flow_first_year} + i % {vol.flow_years}" if year_expr == "auto" else year_expr
    pairs = len(vol.geo_units) * others
    return f"""
with rows as (
    select
        i,
        i // ({pairs} * {years}) as ind,
        (i // {years}) % {pairs} as pair,
        cast({year} as integer) as year
    from range({first_row}, {first_row + row_count}) as t(i)
),
located as (
    select
        *,
        pair // {others} as origin_index,
        pair % {others} as destination_slot
    from rows
    where {pair_filter}
),
final as (
    select
        'oecd' as source,
        case when ind = 0 then 'MOBILE_STUDENTS'
             else 'MOBILE_STUDENTS.B' || lpad(cast(ind as varchar), 3, '0') end as indicator_id,
        {origins}[1 + origin_index] as origin,
        -- skip the origin itself among the destinations
        {destinations}[1 + destination_slot + case when destination_slot >= origin_index then 1 else 0 end]
            as destination,
        year,
        case when {h("i, year", "fmag")} % 100 < 2 then null
             else cast({h("i, year", "fv")} % 20000 as double) end as value,
        case when {h("i, year", "fmag")} % 100 < 2 then null
             else cast({h("i, year", "fv")} % 20000 as varchar) end as value_raw,
        case when {h("i, year", "fmag")} % 100 < 2 then 'NA' end as magnitude,
        null as qualifier,
        '2025-09-09' as data_version,
        sha256('{batch_salt}-' || cast(ind as varchar)) as batch_sha256,
        timestamptz '{loaded_at}' + to_seconds(cast(ind as integer)) as loaded_at
    from located
)
select * from final
"""


_OBS_COLUMNS = (
    "source, indicator_id, geo_unit, year, value, value_raw, magnitude, qualifier, data_version, "
    "batch_sha256, loaded_at"
)
_FLOW_COLUMNS = (
    "source, indicator_id, origin, destination, year, value, value_raw, magnitude, qualifier, "
    "data_version, batch_sha256, loaded_at"
)


def _definitions(con: duckdb.DuckDBPyConnection, vol: Volume) -> None:
    labels = {
        "26637": "Total inbound internationally mobile students, both sexes (number)",
        "OE.5T8.40510": "Total outbound internationally mobile tertiary students studying abroad, "
        "all countries, both sexes (number)",
        "MENF.5T8": "Net flow of internationally mobile students (inbound - outbound), both sexes (number)",
        "MSEP.5T8": "Inbound mobility rate, both sexes (%)",
        "MOR.5T8.40510": "Outbound mobility ratio, all regions, both sexes (%)",
        "26528": "Asia: Students from China, both sexes (number)",
    }
    label_case = " ".join(f"when {_lit(k)} then {_lit(v)}" for k, v in labels.items())
    con.execute(f"""
        insert into indicator_definition (source, indicator_id, name, theme, last_data_update, batch_sha256)
        select 'uis', indicator_id,
               case indicator_id {label_case} else 'Synthetic indicator ' || indicator_id || ' (number)' end,
               'EDUCATION', '2026-09-15', sha256('bench-definitions')
        from (select {_indicator_id()} as indicator_id from range({vol.indicators}) as t(ind))
    """)
    names = {r["country_iso3"]: r["name_en"] for r in _seed_rows("countries")}
    rows = [(code, names.get(code), "NATIONAL") for code in vol.countries if code in names]
    rows += [(region, region.split(": ", 1)[1], "REGIONAL") for region in vol.regions]
    values = ", ".join(f"({_lit(c)}, {_lit(n)}, {_lit(t)})" for c, n, t in rows)
    con.execute(f"""
        insert into geo_unit_definition (source, geo_unit, name, geo_unit_type, batch_sha256)
        select 'uis', geo_unit, name, kind, sha256('bench-geounits')
        from (values {values}) as v(geo_unit, name, kind)
    """)


# -- entry points -------------------------------------------------------------------------------

Progress = Callable[[str], None]


def _timed(con: duckdb.DuckDBPyConnection, label: str, sql: str, progress: Progress | None) -> float:
    started = time.perf_counter()
    con.execute(sql)
    elapsed = time.perf_counter() - started
    if progress:
        progress(f"{label} ({elapsed:.1f} s)")
    return elapsed


# Rows per INSERT, each followed by a checkpoint: the primary-key index of a raw table is built in
# memory as rows arrive, and one 50-million-row statement at 100x would hold all of it at once.
CHUNK_ROWS = 5_000_000
MEMORY_LIMIT = "3GB"


def _connect(home: Home) -> tuple[RawStore, duckdb.DuckDBPyConnection]:
    store = RawStore(home)
    con = store.con  # creates the raw tables with the exact SCHEMA
    con.execute("set enable_progress_bar = false")
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    return store, con


def _insert_chunked(
    con: duckdb.DuckDBPyConnection, label: str, total: int, select: Callable[[int, int], str], progress: Progress | None
) -> None:
    """`select(first_row, row_count)` in chunks of CHUNK_ROWS rows, a checkpoint after each."""
    started = time.perf_counter()
    for first in range(0, total, CHUNK_ROWS):
        con.execute(select(first, min(CHUNK_ROWS, total - first)))
        con.execute("checkpoint")
    if progress:
        progress(f"{label} ({time.perf_counter() - started:.1f} s)")


def generate(
    home: Home,
    scale: str | Volume,
    *,
    seed: int = DEFAULT_SEED,
    anchor: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write a synthetic raw catalog of `scale` into `home` (which must not hold one yet)."""
    vol = scale if isinstance(scale, Volume) else volume(scale)
    clock = Clock(anchor or today())
    if home.catalog.exists():
        raise FileExistsError(f"{home.catalog} exists: generate into a fresh home")
    store, con = _connect(home)
    try:
        _insert_chunked(
            con,
            "release_version",
            vol.release_urls,
            lambda first, count: (
                f"insert into release_version ({_RELEASE_COLUMNS}) "
                + _release_select(first, count, seed, clock, first_day=0, days=RELEASE_DAYS)
            ),
            progress,
        )
        _timed(
            con,
            "release_figure",
            "insert into release_figure "
            "(source, url, content_sha256, figure_index, metric, value, unit, qualifier, period_year, sentence) "
            + _figures_select(seed, "true"),
            progress,
        )
        _timed(
            con,
            "release_statistic",
            "insert into release_statistic (source, url, content_sha256, row_index, period_year, measure, "
            "breakdown, member, value, unit, qualifier, sentence) " + _statistics_select(seed, vol),
            progress,
        )
        _insert_chunked(
            con,
            "observation",
            vol.observations,
            lambda first, count: (
                f"insert into observation ({_OBS_COLUMNS}) "
                + _observation_select(
                    seed,
                    vol,
                    per_indicator=vol.observations // vol.indicators,
                    year_expr="auto",
                    first_row=first,
                    row_count=count,
                    batch_salt="uis-batch",
                    loaded_at=clock.loaded(30),
                )
            ),
            progress,
        )
        _insert_chunked(
            con,
            "flow_observation",
            vol.flows,
            lambda first, count: (
                f"insert into flow_observation ({_FLOW_COLUMNS}) "
                + _flow_select(
                    seed,
                    vol,
                    first_row=first,
                    row_count=count,
                    indicators=vol.flow_indicators,
                    year_expr="auto",
                    pair_filter="true",
                    batch_salt="oecd-batch",
                    loaded_at=clock.loaded(30),
                )
            ),
            progress,
        )
        _definitions(con, vol)
        con.execute("checkpoint")
        return _counts(con)
    finally:
        store.close()


def append_increment(
    home: Home,
    scale: str | Volume,
    *,
    seed: int = DEFAULT_SEED,
    anchor: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Add 1% new data to the catalog `generate` wrote (same seed and anchor); returns rows added."""
    vol = scale if isinstance(scale, Volume) else volume(scale)
    clock = Clock(anchor or today())
    store, con = _connect(home)
    try:
        before = _counts(con)
        new_urls = vol.release_urls // 100
        # released in the last three weeks, after everything generate() wrote
        _timed(
            con,
            "+ release_version",
            f"insert into release_version ({_RELEASE_COLUMNS}) "
            + _release_select(
                vol.release_urls, new_urls, seed, clock, first_day=RELEASE_DAYS + 1, days=NEW_RELEASE_DAYS
            ),
            progress,
        )
        _timed(
            con,
            "+ release_figure",
            "insert into release_figure "
            "(source, url, content_sha256, figure_index, metric, value, unit, qualifier, period_year, sentence) "
            + _figures_select(seed, f"published_at >= {clock.increment_from}"),
            progress,
        )
        # a 2025 value for half of the indicator x geo unit series: 1% of the observations
        per_indicator = len(vol.geo_units) // 2
        _timed(
            con,
            "+ observation",
            f"insert into observation ({_OBS_COLUMNS}) "
            + _observation_select(
                seed,
                vol,
                per_indicator=per_indicator,
                year_expr=str(NEW_YEAR),
                first_row=0,
                row_count=vol.indicators * per_indicator,
                batch_salt="uis-batch-2025",
                loaded_at=clock.loaded(1),
            ),
            progress,
        )
        # 2025 flows for every fifth pair of every breakdown: 1% of the flows
        _timed(
            con,
            "+ flow_observation",
            f"insert into flow_observation ({_FLOW_COLUMNS}) "
            + _flow_select(
                seed,
                vol,
                first_row=0,
                row_count=vol.flow_indicators * vol.flow_pairs,
                indicators=vol.flow_indicators,
                year_expr=str(NEW_YEAR),
                pair_filter="pair % 5 = 0",
                batch_salt="oecd-batch-2025",
                loaded_at=clock.loaded(1),
            ),
            progress,
        )
        con.execute("checkpoint")
        after = _counts(con)
        return {table: after[table] - before[table] for table in after}
    finally:
        store.close()


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = ("release_version", "release_figure", "release_statistic", "observation", "flow_observation")
    return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def catalog_bytes(home: Home) -> int:
    return Path(home.catalog).stat().st_size
