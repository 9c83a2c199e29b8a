"""A synthetic audit warehouse in the warehouse contract's shape, to test and measure the gate.

Built with plain DuckDB SQL (`range`), not dbt, so a 10x warehouse takes seconds rather than a
crawl: the raw tables come from the raw catalog DDL (`ingest.raw_store.SCHEMA`), the marts from
their dbt contracts, and the marts are derived from the raw rows with the models' logic where the
gate cross-checks them (scorecard vs fct_student_mobility, country exchange vs flows, release
counts and themes), so a clean build passes every suite.

    .venv/bin/python -m tests.support.synthetic_marts --scale 10 --validate   # build, then time the gate

Scale 1 is today's order of magnitude: 20k releases, 500k observations, 1M flow observations.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from expectations.contracts import mart_contracts
from ingest.raw_store import SCHEMA

HOME_COUNTRY = "CHN"
COUNTRIES = 250
THEMES = (
    "belt_and_road",
    "bringing_in",
    "china_asean",
    "chinese_language",
    "chinese_students_abroad",
    "degree_recognition",
    "digital_education",
    "global_governance",
    "going_global",
    "sino_foreign_cooperation",
    "study_in_china",
    "vocational_education",
)
MOBILITY_INDICATORS = ("26637", "OE.5T8.40510", "MENF.5T8", "MSEP.5T8", "MOR.5T8.40510")
RELEASE_SOURCES = ("moe_zh", "moe_en", "gov_en", "feeds")
FIGURE_METRICS = (
    "international_students_in_china",
    "students_going_abroad",
    "countries_of_origin",
    "host_institutions",
    "returnees",
)


@dataclass(frozen=True)
class SyntheticSize:
    releases: int
    observations: int
    flow_observations: int
    years: int
    # Country codes AAA, AAB, ... and China (CHN) last; at most a few hundred.
    countries: int = COUNTRIES

    @classmethod
    def at_scale(cls, scale: float) -> SyntheticSize:
        # Country x year tables cannot grow 10x with the raw data (there are ~250 countries and the
        # year range is bounded), so years grow slowly: 60 at 1x, the whole 1950..2100 at 10x.
        years = min(151, max(10, round(60 * scale**0.4)))
        return cls(
            releases=max(20, round(20_000 * scale)),
            observations=max(100, round(500_000 * scale)),
            flow_observations=max(100, round(1_000_000 * scale)),
            years=years,
        )


def _in_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v + "'" for v in values) + "]"


def _create_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists marts; create schema if not exists staging")
    for model, columns in mart_contracts().items():
        body = ", ".join(f'"{name}" {data_type}' for name, data_type in columns)
        con.execute(f"create table marts.{model} ({body})")


def build_synthetic_audit(path: Path, size: SyntheticSize, *, now: str | None = None) -> dict[str, int]:
    """Write a fresh audit warehouse of `size` to `path`; return the row count of every table.

    `now` ('YYYY-MM-DD HH:MM:SS' UTC, default the current time) anchors first_seen_at / loaded_at, so the
    freshness expectations see data loaded in the last days.
    """
    if not 3 <= size.countries <= 1000:
        raise ValueError("countries must be within 3..1000 (codes AAA.. must not reach CHN)")
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        anchor = now or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        con.execute("create schema raw; use raw")
        con.execute(SCHEMA)
        con.execute("use main")
        _create_marts(con)
        first_year = 2025 - size.years + 1 if size.years <= 76 else 1950
        n_ind = max(len(MOBILITY_INDICATORS) + 1, math.ceil(size.observations / (size.countries * size.years)))
        params = {
            "releases": size.releases,
            "years": size.years,
            "y0": first_year,
            "countries": size.countries,
            "n_ind": n_ind,
            "obs": size.observations,
            "flow_combos": size.flow_observations // 2,
            "anchor": anchor,
            "home": HOME_COUNTRY,
        }
        for statement in _STATEMENTS:
            con.execute(
                statement.format(
                    themes=_in_list(THEMES),
                    mobility=_in_list(MOBILITY_INDICATORS),
                    release_sources=_in_list(RELEASE_SOURCES),
                    metrics=_in_list(FIGURE_METRICS),
                    **params,
                )
            )
        con.execute("checkpoint")
        tables = [
            name
            for (name,) in con.execute(
                "select schema_name || '.' || table_name from duckdb_tables() where not temporary order by 1"
            ).fetchall()
        ]
        return {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in tables}
    finally:
        con.close()


# One statement per table, in dependency order. `{x}` are the size parameters above.
_STATEMENTS = (
    # -- dimensions ----------------------------------------------------------------------------
    """create temp table country_codes as
       select i, case when i = {countries} - 1 then '{home}'
                      else chr(65 + i // 676) || chr(65 + (i // 26) % 26) || chr(65 + i % 26) end as iso3
       from (select cast(i as integer) as i from range({countries}) t(i))""",
    """insert into marts.dim_country by name
       select iso3 as country_iso3, 'Country ' || i as name_en, case when i < 50 then '国家' || i end as name_zh,
              case when i < 50 then 'Region ' || (i % 7) end as region, i % 25 = 1 as is_asean,
              case when i % 25 = 1 then 1967 + i % 50 end as asean_member_since,
              case when iso3 = '{home}' then null when i % 3 = 0 then 'signed' when i % 3 = 1 then 'none' end
                  as belt_and_road_status,
              case when iso3 <> '{home}' and i % 3 < 2 then 'synthetic list' end as belt_and_road_source
       from country_codes""",
    """insert into marts.dim_theme
       select theme_id, 'Theme ' || theme_id, '主题' || k, '关键词' || k || '; 合作' || k,
              'keyword ' || k, 2
       from (select unnest({themes}) as theme_id, generate_subscripts({themes}, 1) as k)""",
    """create temp table indicators as
       select k, case when k < 5 then {mobility}[k + 1] else 'IND.' || k end as indicator_id
       from range({n_ind}) t(k)""",
    """insert into marts.dim_indicator
       select indicator_id, 'uis', 'Indicator ' || indicator_id, 'mobility', 'number' from indicators
       union all select '26528', 'uis', 'Students from China by host country', 'mobility', 'number'""",
    # -- policy releases -----------------------------------------------------------------------
    """create temp table releases as
       select i, {release_sources}[i % 4 + 1] as source,
              'http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/' || (2000 + i % 26) || '/t' || i || '.html' as url,
              case when i % 4 in (1, 2) then 'en' else 'zh' end as language,
              timestamptz '2000-01-01 08:00:00+08' + to_minutes(cast((i * 7919) % 13670000 as bigint))
                  as published_at,
              case when i % 10 = 0 then 2 else 1 end as versions
       from range({releases}) t(i)""",
    """insert into raw.release_version
       select r.source, r.url, sha256(r.url || '#' || v), r.language,
              '教育对外开放工作通知 ' || r.i
                  || case when v = 0 and r.versions = 2 then '（初稿）' else '' end,
              r.published_at,
              '正文 ' || r.i || ' ' || repeat('推进高水平教育对外开放，深化中外合作办学。', 60),
              '教育部', '教外〔' || (2000 + r.i % 26) || '〕' || r.i || '号', '教育部网站',
              'gzdt', null,
              timestamptz '{anchor}+00' - to_hours(cast(r.i % 5000 as bigint)) + to_minutes(cast(v as bigint))
       from releases r cross join range(2) t(v)
       where v < r.versions""",
    """insert into marts.fct_policy_release by name
       select md5(r.url) as release_id, md5(r.url) as event_id, 1 as event_release_count, r.source, r.url,
              r.language, v.title, r.published_at,
              cast(timezone('Asia/Shanghai', r.published_at) as date) as published_date, v.issuing_body,
              v.document_number, v.listing_column, v.body_text, length(v.body_text) as body_chars,
              v.content_sha256, r.versions as version_count,
              (select min(x.first_seen_at) from raw.release_version x where x.url = r.url) as first_seen_at
       from releases r
       join raw.release_version v
         on v.url = r.url and v.content_sha256 = sha256(r.url || '#' || (r.versions - 1))""",
    """insert into raw.release_figure by name
       select p.source, p.url, p.content_sha256, f as figure_index, {metrics}[(i + f) % 5 + 1] as metric,
              case (i + f) % 5 when 0 then 400000 + i % 100000 when 1 then 600000 + i % 200000
                               else 100 + i % 900 end as value,
              case (i + f) % 5 when 0 then 'persons' when 1 then 'persons' when 2 then 'countries'
                               else 'institutions' end as unit,
              case when i % 4 = 0 then 'more_than' else 'exact' end as qualifier,
              case when i % 3 = 0 then null else {y0} + i % {years} end as period_year,
              '据统计，' || p.title || ' 中的第 ' || f || ' 个数字。' as sentence
       from (select *, row_number() over (order by url) - 1 as i from marts.fct_policy_release) p
       cross join range(2) t(f)""",
    """insert into marts.fct_release_figure by name
       select md5(f.url) || '-' || f.figure_index as figure_id, md5(f.url) as release_id, f.figure_index,
              f.metric, f.value, f.unit, f.qualifier, f.period_year, f.sentence, f.source, f.content_sha256
       from raw.release_figure f""",
    # MOE's yearly statistics: one statistics release a year, a total, the degree-seeking count and
    # a by-country list of the first 15 countries
    """create temp table statistic_releases as
       select {y0} + y as period_year, r.release_id, r.url, r.content_sha256, r.source, r.published_date
       from range({years}) t(y)
       join (select *, row_number() over (order by url) - 1 as i from marts.fct_policy_release
             where source = 'moe_zh') r
         on r.i = y""",
    """insert into raw.release_statistic by name
       select r.source, r.url, r.content_sha256, k as row_index, r.period_year,
              'international_students_in_china' as measure,
              case when k = 0 then 'total' when k = 1 then 'degree_level' else 'country' end as breakdown,
              case when k = 0 then '总数' when k = 1 then '学历生' else '国家' || k end as member,
              case when k = 0 then 400000.0 + r.period_year when k = 1 then 200000.0 + r.period_year
                   else 1000.0 * k + r.period_year end as value,
              'persons' as unit, 'exact' as qualifier, '据统计，第 ' || k || ' 个数字。' as sentence
       from statistic_releases r cross join range(17) t(k)""",
    """insert into marts.fct_moe_student_statistic by name
       select md5(s.url || '-' || s.row_index) as statistic_id, s.period_year, s.measure, s.breakdown, s.member,
              case when s.breakdown = 'total' then 'total' when s.breakdown = 'degree_level' then 'degree'
                   else c.iso3 end as member_code,
              case when s.breakdown = 'country' then c.iso3 end as country_iso3,
              false as is_unmapped_country, s.value, s.unit, s.qualifier, 'published' as value_status,
              r.release_id, s.url, s.source, r.published_date, s.sentence, s.content_sha256,
              1 as releases_stating, 1 as values_stated
       from raw.release_statistic s
       join statistic_releases r on r.url = s.url
       left join country_codes c on c.i = s.row_index - 2 and s.breakdown = 'country'""",
    """insert into marts.bridge_release_theme
       select release_id, {themes}[(h + k * 5) % 12 + 1], '关键词; keyword'
       from (select release_id, cast(hash(release_id) % 12 as integer) as h from marts.fct_policy_release)
       cross join range(2) t(k)""",
    # -- statistics ----------------------------------------------------------------------------
    """insert into raw.observation
       select 'uis', ind.indicator_id, c.iso3, {y0} + (t.i // ({n_ind} * {countries})) % {years},
              case when t.i % 17 = 0 then null else (t.i * 31) % 1000000 end,
              case when t.i % 17 = 0 then null else cast((t.i * 31) % 1000000 as varchar) end,
              case when t.i % 17 = 0 then 'NA' end, case when t.i % 5 = 0 then 'UIS_EST' end, '20260801',
              sha256('batch-' || (t.i // ({n_ind} * {countries} * {years}))),
              timestamptz '{anchor}+00' - to_days(cast(t.i % 3 as bigint))
       from range({obs}) t(i)
       join indicators ind on ind.k = t.i % {n_ind}
       join country_codes c on c.i = (t.i // {n_ind}) % {countries}""",
    """insert into marts.fct_student_mobility by name
       select c.iso3 || '-' || ({y0} + y) as mobility_id, c.iso3 as country_iso3, {y0} + y as year,
              1000.0 + (c.i * 37 + y * 11) % 50000 as inbound_students,
              case when y % 9 = 0 then 'estimate' else 'published' end as inbound_status,
              'uis' as inbound_source,
              case when (c.i + y) % 7 = 0 then null else 2000.0 + (c.i * 13 + y * 17) % 90000 end
                  as outbound_students,
              case when (c.i + y) % 7 <> 0 then 'derived' end as outbound_status,
              case when (c.i + y) % 7 <> 0 then 'uis' end as outbound_source,
              case when (c.i + y) % 7 = 0 then null
                   else (1000.0 + (c.i * 37 + y * 11) % 50000) - (2000.0 + (c.i * 13 + y * 17) % 90000) end
                  as net_flow,
              case when (c.i + y) % 7 <> 0 then 'published' end as net_flow_status,
              case when (c.i + y) % 7 <> 0 then 'uis' end as net_flow_source,
              ((c.i + y) % 400) / 10.0 as inbound_mobility_rate, 'published' as inbound_mobility_rate_status,
              'uis' as inbound_mobility_rate_source,
              ((c.i * 3 + y) % 2000) / 10.0 as outbound_mobility_ratio,
              'published' as outbound_mobility_ratio_status, 'uis' as outbound_mobility_ratio_source,
              case when y % 9 = 0 then 'UIS_EST' end as inbound_flags,
              case when (c.i + y) % 7 = 0 then 'NA' end as outbound_flags,
              'uis' as source, '20260801' as data_version
       from country_codes c cross join range({years}) t(y)""",
    """insert into raw.flow_observation
       select src, '26528', o.iso3, d.iso3, {y0} + (j // ({countries} * ({countries} - 1))) % {years},
              case when j % 13 = 0 then null else 1.0 + (j * 7) % 20000 end,
              case when j % 13 = 0 then null else cast(1 + (j * 7) % 20000 as varchar) end,
              case when j % 13 = 0 then 'NA' end, null, '20260801', sha256('flows-' || src),
              timestamptz '{anchor}+00' - to_days(cast(j % 2 as bigint))
       from range({flow_combos}) t(j) cross join (select unnest(['uis', 'oecd']) as src)
       join country_codes d on d.i = j % {countries}
       join country_codes o
         on o.i = case when (j // {countries}) % ({countries} - 1) < j % {countries}
                       then (j // {countries}) % ({countries} - 1)
                       else (j // {countries}) % ({countries} - 1) + 1 end""",
    """insert into marts.fct_mobility_flow by name
       select origin || '-' || destination || '-' || year as flow_id, origin as origin_iso3,
              destination as destination_iso3, year, value as students,
              case when value is not null then 'published' end as students_status,
              coalesce(magnitude, qualifier) as flags, source, indicator_id, data_version
       from raw.flow_observation where source = 'uis'""",
    # -- marts built from the facts, with the models' logic ------------------------------------
    """create temp table release_coverage as
       select min(cast(extract(year from published_date) as integer)) as start_year
       from marts.fct_policy_release""",
    """insert into marts.mart_country_exchange by name
       with to_home as (
           select country_iso3, period_year as year, value as students_to_china, source, url
           from marts.fct_moe_student_statistic
           where breakdown = 'country' and unit = 'persons' and measure = 'international_students_in_china'),
       from_home as (
           select destination_iso3 as country_iso3, year, students as students_from_china, students_status,
                  source, data_version
           from marts.fct_mobility_flow where origin_iso3 = '{home}'),
       joined as (
           select coalesce(t.country_iso3, f.country_iso3) as country_iso3, coalesce(t.year, f.year) as year,
                  t.students_to_china, t.source as to_source, t.url as to_url, f.students_from_china,
                  f.students_status, f.source as from_source, f.data_version
           from to_home t full join from_home f on t.country_iso3 = f.country_iso3 and t.year = f.year)
       select country_iso3 || '-' || year as exchange_id, country_iso3, year, students_to_china,
              case when students_to_china is not null then 'published' end as students_to_china_status,
              case when students_to_china is not null then to_source end as students_to_china_source,
              case when students_to_china is not null then to_url end as students_to_china_url,
              students_from_china, students_status as students_from_china_status,
              from_source as students_from_china_source, data_version as students_from_china_data_version,
              case when year >= c.start_year then 0 end as releases_mentioning,
              case when year >= c.start_year then 0 end as events_mentioning,
              null as release_ids_sample, c.start_year as releases_coverage_start_year
       from joined cross join release_coverage c
       where students_to_china is not null or students_from_china is not null""",
    """insert into marts.mart_opening_up_scorecard by name
       with stats as (
           select year, inbound_students, inbound_status, inbound_source, outbound_students, outbound_status,
                  outbound_source
           from marts.fct_student_mobility where country_iso3 = '{home}'),
       release_counts as (
           select cast(extract(year from published_date) as integer) as year,
                  count(distinct coalesce(event_id, release_id)) as n
           from marts.fct_policy_release where published_date is not null group by 1),
       theme_counts as (
           select cast(extract(year from r.published_date) as integer) as year, b.theme_id,
                  count(distinct coalesce(r.event_id, r.release_id)) as n
           from marts.bridge_release_theme b join marts.fct_policy_release r using (release_id)
           where r.published_date is not null group by 1, 2),
       theme_json as (
           select year, '{{' || string_agg(cast(to_json(theme_id) as varchar) || ':' || n, ','
                                           order by theme_id) || '}}' as j
           from theme_counts group by year),
       reported as (
           select period_year as year,
                  max(value) filter (where member_code = 'degree') as inbound,
                  max(value) filter (where member_code = 'total') as inbound_all,
                  string_agg(distinct release_id, ',' order by release_id) as ids
           from marts.fct_moe_student_statistic
           where breakdown in ('total', 'degree_level') and unit = 'persons'
           group by period_year),
       years as (
           select year from stats union select year from release_counts union select year from reported)
       select y.year, s.inbound_students, s.inbound_status, s.inbound_source, s.outbound_students,
              s.outbound_status, s.outbound_source,
              case when s.outbound_students > 0 then s.inbound_students / s.outbound_students end
                  as bringing_in_ratio,
              case when s.outbound_students > 0 then 'derived' end as bringing_in_ratio_status,
              case when s.outbound_students > 0 then 'uis' end as bringing_in_ratio_source,
              case when y.year >= c.start_year then coalesce(rc.n, 0) end as releases_total,
              case when y.year >= c.start_year then coalesce(tj.j, '{{}}') end as releases_by_theme,
              c.start_year as releases_coverage_start_year,
              rp.inbound as moe_reported_inbound,
              case when rp.inbound is not null then 'published' end as moe_reported_inbound_status,
              case when rp.inbound is not null then 'moe_zh' end as moe_reported_inbound_source,
              case when rp.inbound is not null then 'exact' end as moe_reported_inbound_qualifier,
              rp.inbound_all as moe_reported_inbound_all_types,
              case when rp.inbound_all is not null then 'published' end as moe_reported_inbound_all_types_status,
              case when rp.inbound_all is not null then 'moe_zh' end as moe_reported_inbound_all_types_source,
              case when rp.inbound_all is not null then 'exact' end as moe_reported_inbound_all_types_qualifier,
              rp.ids as figure_release_ids
       from years y
       cross join release_coverage c
       left join stats s on s.year = y.year
       left join release_counts rc on rc.year = y.year
       left join theme_json tj on tj.year = y.year
       left join reported rp on rp.year = y.year""",
    "create view staging.stg_uis__observations as select * from raw.observation",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--home", type=Path, default=Path("/tmp/eduopen-synthetic"))
    parser.add_argument("--validate", action="store_true", help="time the gate on the built warehouse")
    parser.add_argument(
        "--publish", action="store_true", help="publish the build first, so the row-count baseline exists"
    )
    args = parser.parse_args(argv)

    from eduopen.core.paths import Home

    home = Home(args.home.resolve()).ensure()
    size = SyntheticSize.at_scale(args.scale)
    started = time.monotonic()
    rows = build_synthetic_audit(home.audit, size)
    built = time.monotonic() - started
    report: dict[str, object] = {
        "scale": args.scale,
        "size": size.__dict__,
        "build_s": round(built, 2),
        "audit_mb": round(home.audit.stat().st_size / 1e6, 1),
        "rows": rows,
    }
    if args.validate:
        started = time.monotonic()
        from expectations.validate import validate

        imported = time.monotonic() - started
        if args.publish:
            from eduopen.publish import publish

            validate(home)
            publish(home)
        started = time.monotonic()
        record = validate(home)
        report.update(
            gx_import_s=round(imported, 2),
            validate_s=round(time.monotonic() - started, 2),
            phases=record.get("phases"),
            evaluated=record["statistics"]["evaluated_expectations"],
            modes={k: v.get("mode") for k, v in record["suites"].items()},
        )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
