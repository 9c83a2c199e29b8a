"""The dbt project's transformations as one plain DuckDB SQL script: the floor dbt is measured against.

Same input (the raw catalog, copied into `raw` as `ingest.transform.prepare_audit` does, plus the
seeds), same marts (checked row for row against dbt's by `fingerprints`), none of dbt's
machinery: no parsing, no data tests, unit tests or contracts, no incremental bookkeeping.
Staging and intermediate results are computed once each, as temp tables, which is what a
hand-written script does.

The theme bridge and the country mentions find their candidates by substring before any regular
expression, as the dbt models do. Project vars come from `dbt_project/dbt_project.yml`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import yaml

from ingest.config import DBT_PROJECT_DIR, Home, duckdb_config
from ingest.raw_store import RAW_TABLES, SCHEMA

SEEDS = {
    "countries": {"country_iso3": "varchar", "name_en": "varchar", "name_zh": "varchar", "region": "varchar",
                  "is_asean": "boolean", "belt_and_road_status": "varchar"},
    "country_aliases": {"country_iso3": "varchar", "alias": "varchar", "language": "varchar"},
    "geo_aggregates": {"geo_unit": "varchar", "publisher": "varchar", "name": "varchar"},
    "mobility_indicators": {"indicator_id": "varchar", "measure": "varchar", "name": "varchar",
                            "unit": "varchar"},
    "themes": {"theme_id": "varchar", "theme_name_en": "varchar", "theme_name_zh": "varchar",
               "keyword": "varchar", "language": "varchar"},
}
MARTS = ("dim_country", "dim_indicator", "dim_theme", "fct_policy_release", "fct_release_figure",
         "fct_student_mobility", "fct_mobility_flow", "bridge_release_theme", "mart_country_exchange",
         "mart_opening_up_scorecard")
MEASURES = ("inbound_students", "outbound_students", "net_flow", "inbound_mobility_rate",
            "outbound_mobility_ratio")


def project_vars() -> dict[str, Any]:
    config = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return config["vars"]


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _in(values: list[str]) -> str:
    return ", ".join(_lit(v) for v in values)


def _rank(column: str, sources: list[str]) -> str:
    whens = " ".join(f"when {_lit(s)} then {i}" for i, s in enumerate(sources, start=1))
    return f"case {column} {whens} else {len(sources) + 1} end"


def _escape(expression: str) -> str:
    return rf"regexp_replace({expression}, '([.^$|?*+()\[\]{{}}\\-])', '\\\1', 'g')"


def _stage_observations(name: str, sources: list[str], missing: list[str]) -> str:
    return f"""
create temp table {name} as
with normalized as (
    select source, trim(indicator_id) as indicator_id, trim(geo_unit) as geo_unit, year, value, value_raw,
           nullif(upper(trim(magnitude)), '') as magnitude, nullif(upper(trim(qualifier)), '') as qualifier,
           data_version, batch_sha256, loaded_at
    from raw.observation
    where source in ({_in(sources)})
),
latest_batch as (
    select *, row_number() over (partition by source, indicator_id, geo_unit, year
                                 order by loaded_at desc, batch_sha256 desc) as batch_rank
    from normalized
)
select source, indicator_id, geo_unit, year,
       case when magnitude in ({_in(missing)}) then null else value end as value,
       value_raw, magnitude, qualifier, data_version, batch_sha256, loaded_at
from latest_batch
where batch_rank = 1
"""


# The theme bridge (int_release_theme_matches in dbt): the whole-word test only runs where the
# keyword occurs at all, by a lower-case substring test ('ſ' read as 's', as RE2's case folding
# does); with the pattern a column, RE2 compiles one per (release, English keyword) pair it tests.
BRIDGE_RELEASE_THEME = r"""
create table marts.bridge_release_theme as
with keywords as (
    select theme_id, keyword, language, lower(keyword) as keyword_lower,
           '(?i)\b' || regexp_replace(keyword, '([.^$|?*+()\[\]{}\\-])', '\\\1', 'g') || 's?\b' as pattern
    from staging.themes
),
texts as (
    select release_id, title || chr(10) || coalesce(body_text, '') as text,
           replace(lower(title || chr(10) || coalesce(body_text, '')), 'ſ', 's') as text_lower
    from marts.fct_policy_release
),
candidates as (
    select texts.release_id, texts.text, keywords.*
    from texts
    inner join keywords
        on case when keywords.language = 'en' then strpos(texts.text_lower, keywords.keyword_lower) > 0
                else strpos(texts.text, keywords.keyword) > 0 end
),
matches as (
    select release_id, theme_id, keyword
    from candidates
    where language <> 'en' or regexp_matches(text, pattern)
)
select cast(release_id as varchar) as release_id, cast(theme_id as varchar) as theme_id,
       cast(string_agg(distinct keyword, '; ' order by keyword) as varchar) as matched_keywords
from matches
group by release_id, theme_id
"""


def statements(v: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(name, SQL) in build order; run after the raw copy and the seeds."""
    v = v or project_vars()
    missing = v["missing_magnitudes"]
    statistics_sources = v["uis_sources"] + v["worldbank_sources"] + v["owid_sources"] + v["oecd_sources"]
    home = _lit(v["home_country"])
    tz = _lit(v["release_timezone"])
    inbound_metric, outbound_metric = _lit(v["inbound_figure_metric"]), _lit(v["outbound_figure_metric"])
    publishers = [("uis", "stg_uis__observations", v["uis_sources"]),
                  ("worldbank", "stg_worldbank__observations", v["worldbank_sources"]),
                  ("owid", "stg_owid__observations", v["owid_sources"])]
    stacked = "\nunion all\n".join(
        f"select '{name}' as publisher, source, indicator_id, geo_unit, year, value, value_raw, magnitude, "
        f"qualifier, data_version, batch_sha256, loaded_at, {_rank('source', sources)} as source_precedence "
        f"from {model}" for name, model, sources in publishers)
    pivot = ",\n".join(f"max(value) filter (where measure = '{m}') as {m}" for m in MEASURES)
    english_pattern = f"'(?i)(?:^|\\W)' || {_escape('usable_terms.term')} || '(?:\\W|$)'"

    out: list[tuple[str, str]] = []
    add = lambda name, sql: out.append((name, sql))  # noqa: E731 - a table of statements reads better

    # -- staging ------------------------------------------------------------------------------
    add("stg_raw__release_versions", rf"""
create temp table stg_raw__release_versions as
select source, url, content_sha256,
       split_part(lower(trim(language)), '-', 1) as language,
       trim(title) as title,
       lower(regexp_replace(title, '[\s\x{{3000}}\x{{00a0}}]+', '', 'g')) as title_key,
       published_at,
       cast(timezone({tz}, published_at) as date) as published_date,
       body_text,
       cast(coalesce(length(body_text), 0) as integer) as body_chars,
       nullif(trim(issuing_body), '') as issuing_body,
       nullif(trim(document_number), '') as document_number,
       nullif(trim(content_source), '') as content_source,
       nullif(trim(listing_column), '') as listing_column,
       attachments, first_seen_at
from raw.release_version""")
    add("stg_raw__release_figures", """
create temp table stg_raw__release_figures as
select source, url, content_sha256, figure_index, lower(trim(metric)) as metric, value,
       nullif(lower(trim(unit)), '') as unit, year, trim(sentence) as sentence
from raw.release_figure""")
    for _publisher, model, sources in publishers:
        add(model, _stage_observations(model, sources, missing))
    add("stg_oecd__flows", f"""
create temp table stg_oecd__flows as
with normalized as (
    select source, trim(indicator_id) as indicator_id, upper(trim(origin)) as origin,
           upper(trim(destination)) as destination, year, value, value_raw,
           nullif(upper(trim(magnitude)), '') as magnitude, nullif(upper(trim(qualifier)), '') as qualifier,
           data_version, batch_sha256, loaded_at
    from raw.flow_observation
    where source in ({_in(v["oecd_sources"])})
),
latest_batch as (
    select *, row_number() over (partition by source, indicator_id, origin, destination, year
                                 order by loaded_at desc, batch_sha256 desc) as batch_rank
    from normalized
)
select source, indicator_id, origin, destination, year,
       case when magnitude in ({_in(missing)}) then null else value end as value,
       value_raw, magnitude, qualifier, data_version, batch_sha256, loaded_at
from latest_batch where batch_rank = 1""")
    add("stg_uis__geo_units", f"""
create temp table stg_uis__geo_units as
with one_per_geo_unit as (
    select *, row_number() over (partition by geo_unit
                                 order by {_rank('source', v['uis_sources'])}, batch_sha256 desc)
                  as source_rank
    from raw.geo_unit_definition where source in ({_in(v["uis_sources"])})
),
typed as (
    select trim(geo_unit) as geo_unit, nullif(trim(name), '') as geo_unit_name,
           upper(nullif(trim(geo_unit_type), '')) as geo_unit_type,
           case when strpos(geo_unit, ':') > 0 then trim(split_part(geo_unit, ':', 1)) end as region_group,
           source, batch_sha256
    from one_per_geo_unit where source_rank = 1
)
select geo_unit, geo_unit_name, geo_unit_type, region_group,
       regexp_full_match(geo_unit, '[A-Z]{{3}}')
           and coalesce(geo_unit_type, 'NATIONAL') = 'NATIONAL' as is_national,
       case when regexp_full_match(geo_unit, '[A-Z]{{3}}')
                 and coalesce(geo_unit_type, 'NATIONAL') = 'NATIONAL' then geo_unit end as country_iso3,
       source, batch_sha256
from typed""")
    add("stg_uis__indicators", rf"""
create temp table stg_uis__indicators as
with one_per_indicator as (
    select *, row_number() over (partition by indicator_id
                                 order by {_rank('source', v['uis_sources'])}, batch_sha256 desc)
                  as source_rank
    from raw.indicator_definition where source in ({_in(v["uis_sources"])})
)
select trim(indicator_id) as indicator_id, nullif(trim(name), '') as indicator_name,
       nullif(trim(theme), '') as theme,
       case regexp_extract(name, '\(([^()]+)\)\s*$', 1)
           when '' then null when '%' then 'percent'
           else lower(regexp_extract(name, '\(([^()]+)\)\s*$', 1)) end as unit,
       last_data_update, source, batch_sha256
from one_per_indicator where source_rank = 1""")
    add("stg_worldbank__indicators", rf"""
create temp table stg_worldbank__indicators as
with one_per_indicator as (
    select *, row_number() over (partition by indicator_id
                                 order by {_rank('source', v['worldbank_sources'])}, batch_sha256 desc)
                  as source_rank
    from raw.indicator_definition where source in ({_in(v["worldbank_sources"])})
)
select trim(indicator_id) as indicator_id, nullif(trim(name), '') as indicator_name,
       nullif(trim(theme), '') as theme,
       nullif(regexp_extract(name, '\(([^()]+)\)\s*$', 1), '') as unit, source, batch_sha256
from one_per_indicator where source_rank = 1""")

    # -- intermediate -------------------------------------------------------------------------
    add("int_geo_units_mapped", """
create temp table int_geo_units_mapped as
with seen as (
    select geo_unit from stg_uis__observations
    union select geo_unit from stg_worldbank__observations
    union select geo_unit from stg_owid__observations
    union select origin from stg_oecd__flows
    union select destination from stg_oecd__flows
),
country_names as (
    select lower(name_en) as name_key, country_iso3, 1 as name_rank from staging.countries
    union all select lower(name_zh), country_iso3, 2 from staging.countries
    union all select lower(alias), country_iso3, 3 from staging.country_aliases
    union all select lower(geo_unit_name), country_iso3, 4 from stg_uis__geo_units where is_national
),
one_country_per_name as (
    select name_key, country_iso3,
           row_number() over (partition by name_key order by name_rank, country_iso3) as name_choice
    from country_names where name_key is not null and country_iso3 is not null
),
classified as (
    select seen.geo_unit,
        case
            when geo_aggregates.geo_unit is not null then 'aggregate_list'
            when uis_geo_units.geo_unit is not null then 'uis_definition'
            when one_country_per_name.country_iso3 is not null then 'name'
            when regexp_full_match(seen.geo_unit, '[A-Z]{3}') then 'iso3_code'
            when strpos(seen.geo_unit, ':') > 0 or starts_with(seen.geo_unit, 'OWID_')
                or regexp_full_match(seen.geo_unit, '[A-Z0-9_]+') then 'aggregate_code'
            else 'unmapped'
        end as mapped_by,
        case
            when geo_aggregates.geo_unit is not null then null
            when uis_geo_units.geo_unit is not null then uis_geo_units.country_iso3
            when one_country_per_name.country_iso3 is not null then one_country_per_name.country_iso3
            when regexp_full_match(seen.geo_unit, '[A-Z]{3}') then seen.geo_unit
        end as country_iso3,
        uis_geo_units.is_national as uis_is_national
    from seen
    left join staging.geo_aggregates as geo_aggregates on seen.geo_unit = geo_aggregates.geo_unit
    left join stg_uis__geo_units as uis_geo_units on seen.geo_unit = uis_geo_units.geo_unit
    left join one_country_per_name
        on lower(trim(seen.geo_unit)) = one_country_per_name.name_key and one_country_per_name.name_choice = 1
),
kinds as (
    select geo_unit, country_iso3,
        case
            when country_iso3 is not null then 'country'
            when mapped_by in ('aggregate_list', 'aggregate_code') then 'regional'
            when mapped_by = 'uis_definition' and not uis_is_national then 'regional'
            else 'unmapped'
        end as geo_unit_kind,
        mapped_by
    from classified
)
select geo_unit, country_iso3, geo_unit_kind = 'regional' as is_regional, geo_unit_kind, mapped_by
from kinds""")
    add("int_observations_unified", f"""
create temp table int_observations_unified as
with stacked as ({stacked}),
mapped as (
    select stacked.*, geo_units.country_iso3, coalesce(geo_units.is_regional, false) as is_regional,
           coalesce(geo_units.country_iso3, stacked.geo_unit) as geo_key
    from stacked left join int_geo_units_mapped as geo_units on stacked.geo_unit = geo_units.geo_unit
),
ranked as (
    select *,
        row_number() over (partition by publisher, indicator_id, geo_key, year
                           order by source_precedence, loaded_at desc, batch_sha256 desc, geo_unit)
            as precedence_rank,
        count(*) over (partition by publisher, indicator_id, geo_key, year) as sources_reporting
    from mapped
)
select publisher, source, indicator_id, geo_unit, country_iso3, is_regional, geo_key, year, value, value_raw,
       magnitude, qualifier, nullif(concat_ws('|', magnitude, qualifier), '') as flags,
       cast(sources_reporting as integer) as sources_reporting, data_version, batch_sha256, loaded_at
from ranked where precedence_rank = 1""")
    add("int_mobility_pivoted", f"""
create temp table int_mobility_pivoted as
with country_observations as (
    select observations.*, mobility_indicators.measure
    from int_observations_unified as observations
    inner join staging.mobility_indicators as mobility_indicators
        on observations.indicator_id = mobility_indicators.indicator_id
    where observations.publisher = 'uis' and observations.country_iso3 is not null
),
pivoted as (
    select country_iso3, year,
        {pivot},
        max(flags) filter (where measure = 'inbound_students') as inbound_flags,
        max(flags) filter (where measure = 'outbound_students') as outbound_flags,
        max(source) filter (where measure = 'inbound_students') as inbound_source,
        max(source) filter (where measure = 'outbound_students') as outbound_source,
        string_agg(distinct source, ',' order by source) as source,
        max(data_version) as data_version
    from country_observations
    group by country_iso3, year
)
select country_iso3 || '-' || cast(year as varchar) as mobility_id, * from pivoted""")
    add("int_mobility_flows", f"""
create temp table int_mobility_flows as
with oecd_mapped as (
    select f.source, f.indicator_id, origins.country_iso3 as origin_iso3,
           destinations.country_iso3 as destination_iso3, f.year, f.value as students, f.magnitude,
           f.qualifier, f.data_version, f.batch_sha256, f.loaded_at
    from stg_oecd__flows as f
    left join int_geo_units_mapped as origins on f.origin = origins.geo_unit
    left join int_geo_units_mapped as destinations on f.destination = destinations.geo_unit
),
students_from_home as (
    select source, indicator_id, {home} as origin_iso3, country_iso3 as destination_iso3, year,
           value as students, magnitude, qualifier, data_version, batch_sha256, loaded_at
    from int_observations_unified
    where publisher = 'uis' and indicator_id = {_lit(v["students_from_china_indicator"])}
),
stacked as (select * from oecd_mapped union all select * from students_from_home),
between_countries as (
    select * from stacked
    where origin_iso3 is not null and destination_iso3 is not null and origin_iso3 <> destination_iso3
),
ranked as (
    select *, row_number() over (
        partition by origin_iso3, destination_iso3, year
        order by {_rank('source', v['flow_source_precedence'])}, indicator_id, loaded_at desc,
                 batch_sha256 desc
    ) as precedence_rank
    from between_countries
)
select origin_iso3 || '-' || destination_iso3 || '-' || cast(year as varchar) as flow_id, origin_iso3,
       destination_iso3, year, students, nullif(concat_ws('|', magnitude, qualifier), '') as flags, source,
       indicator_id, data_version
from ranked where precedence_rank = 1""")
    add("int_releases_deduplicated", """
create temp table int_releases_deduplicated as
with versions_ranked as (
    select *,
        row_number() over (partition by url order by first_seen_at desc, content_sha256 desc) as version_rank,
        count(*) over (partition by url) as url_version_count,
        min(first_seen_at) over (partition by url) as url_first_seen_at
    from stg_raw__release_versions
),
latest_per_url as (select * from versions_ranked where version_rank = 1),
reposts_ranked as (
    select *,
        row_number() over (partition by source, title_key, coalesce(cast(published_date as varchar), url)
                           order by url_first_seen_at, url) as repost_rank,
        min(url_first_seen_at) over (partition by source, title_key,
                                     coalesce(cast(published_date as varchar), url)) as release_first_seen_at
    from latest_per_url
)
select md5(url) as release_id, source, url, language, title, published_at, published_date, issuing_body,
       document_number, listing_column, body_text, body_chars, content_sha256,
       cast(url_version_count as integer) as version_count, release_first_seen_at as first_seen_at
from reposts_ranked where repost_rank = 1""")
    add("int_release_figures_kept", """
create temp table int_release_figures_kept as
select releases.release_id || '-' || cast(figures.figure_index as varchar) as figure_id, releases.release_id,
       figures.figure_index, figures.metric, figures.value, figures.unit, figures.year, figures.sentence,
       figures.source, figures.content_sha256
from stg_raw__release_figures as figures
inner join int_releases_deduplicated as releases
    on figures.url = releases.url and figures.content_sha256 = releases.content_sha256""")
    add("int_release_country_mentions", f"""
create temp table int_release_country_mentions as
with terms as (
    select country_iso3, name_en as term, 'en' as language from staging.countries
    union select country_iso3, name_zh, 'zh' from staging.countries
    union select country_iso3, alias, language from staging.country_aliases where language in ('en', 'zh')
    union select country_iso3, geo_unit_name, 'en' from stg_uis__geo_units where is_national
),
usable_terms as (
    select * from terms where term is not null and trim(term) <> '' and country_iso3 is not null
),
shadows as (
    select shorter.country_iso3, shorter.term, shorter.language,
           string_agg({_escape('longer.term')}, '|' order by length(longer.term) desc, longer.term)
               as shadow_pattern
    from usable_terms as shorter
    inner join usable_terms as longer
        on shorter.language = longer.language and shorter.country_iso3 <> longer.country_iso3
        and length(longer.term) > length(shorter.term) and strpos(lower(longer.term), lower(shorter.term)) > 0
    group by shorter.country_iso3, shorter.term, shorter.language
),
patterns as (
    select usable_terms.country_iso3, usable_terms.term, usable_terms.language,
           lower(usable_terms.term) as term_lower, shadows.shadow_pattern,
           case when usable_terms.language = 'en' then {english_pattern} end as term_pattern
    from usable_terms
    left join shadows on usable_terms.country_iso3 = shadows.country_iso3 and usable_terms.term = shadows.term
        and usable_terms.language = shadows.language
),
texts as (
    select release_id, published_date, title || chr(10) || coalesce(body_text, '') as text,
           lower(title || chr(10) || coalesce(body_text, '')) as text_lower
    from int_releases_deduplicated
),
candidates as (
    select texts.release_id, texts.published_date, patterns.country_iso3, patterns.term, patterns.language,
           patterns.term_pattern,
           case when patterns.shadow_pattern is null then texts.text
                else regexp_replace(texts.text, '(?i)' || patterns.shadow_pattern, ' ', 'g')
           end as text_unshadowed
    from texts inner join patterns on strpos(texts.text_lower, patterns.term_lower) > 0
),
confirmed as (
    select * from candidates
    where case when language = 'en' then regexp_matches(text_unshadowed, term_pattern)
               else strpos(text_unshadowed, term) > 0 end
)
select release_id, country_iso3, published_date,
       string_agg(distinct term, '; ' order by term) as matched_terms
from confirmed group by release_id, country_iso3, published_date""")

    # -- marts --------------------------------------------------------------------------------
    add("fct_policy_release", """
create table marts.fct_policy_release as
select cast(release_id as varchar) as release_id, cast(source as varchar) as source,
       cast(url as varchar) as url,
       cast(language as varchar) as language, cast(title as varchar) as title,
       cast(published_at as timestamptz) as published_at, cast(published_date as date) as published_date,
       cast(issuing_body as varchar) as issuing_body, cast(document_number as varchar) as document_number,
       cast(listing_column as varchar) as listing_column, cast(body_text as varchar) as body_text,
       cast(body_chars as integer) as body_chars, cast(content_sha256 as varchar) as content_sha256,
       cast(version_count as integer) as version_count, cast(first_seen_at as timestamptz) as first_seen_at
from int_releases_deduplicated""")
    add("fct_release_figure", """
create table marts.fct_release_figure as
select cast(figure_id as varchar) as figure_id, cast(release_id as varchar) as release_id,
       cast(figure_index as integer) as figure_index, cast(metric as varchar) as metric,
       cast(value as double) as value, cast(unit as varchar) as unit, cast(year as integer) as year,
       cast(sentence as varchar) as sentence, cast(source as varchar) as source,
       cast(content_sha256 as varchar) as content_sha256
from int_release_figures_kept""")
    add("fct_student_mobility", """
create table marts.fct_student_mobility as
select cast(mobility_id as varchar) as mobility_id, cast(country_iso3 as varchar) as country_iso3,
       cast(year as integer) as year, cast(inbound_students as double) as inbound_students,
       cast(outbound_students as double) as outbound_students, cast(net_flow as double) as net_flow,
       cast(inbound_mobility_rate as double) as inbound_mobility_rate,
       cast(outbound_mobility_ratio as double) as outbound_mobility_ratio,
       cast(inbound_flags as varchar) as inbound_flags, cast(outbound_flags as varchar) as outbound_flags,
       cast(source as varchar) as source, cast(data_version as varchar) as data_version
from int_mobility_pivoted""")
    add("fct_mobility_flow", """
create table marts.fct_mobility_flow as
select cast(flow_id as varchar) as flow_id, cast(origin_iso3 as varchar) as origin_iso3,
       cast(destination_iso3 as varchar) as destination_iso3, cast(year as integer) as year,
       cast(students as double) as students, cast(flags as varchar) as flags,
       cast(source as varchar) as source,
       cast(indicator_id as varchar) as indicator_id, cast(data_version as varchar) as data_version
from int_mobility_flows""")
    add("dim_country", """
create table marts.dim_country as
with uis_geo_units as (select * from stg_uis__geo_units where is_national),
geo_units as (select * from int_geo_units_mapped where country_iso3 is not null),
all_codes as (
    select country_iso3 from staging.countries
    union select country_iso3 from uis_geo_units
    union select country_iso3 from geo_units
)
select cast(all_codes.country_iso3 as varchar) as country_iso3,
       cast(coalesce(countries.name_en, uis_geo_units.geo_unit_name) as varchar) as name_en,
       cast(countries.name_zh as varchar) as name_zh, cast(countries.region as varchar) as region,
       cast(coalesce(countries.is_asean, false) as boolean) as is_asean,
       cast(countries.belt_and_road_status as varchar) as belt_and_road_status
from all_codes
left join staging.countries as countries on all_codes.country_iso3 = countries.country_iso3
left join uis_geo_units on all_codes.country_iso3 = uis_geo_units.country_iso3""")
    add("dim_indicator", f"""
create table marts.dim_indicator as
with definitions as (
    select indicator_id, source, indicator_name, theme, unit from stg_uis__indicators
    union all select indicator_id, source, indicator_name, theme, unit from stg_worldbank__indicators
),
observed as (
    select distinct indicator_id, source from int_observations_unified
    union select distinct indicator_id, source from stg_oecd__flows
),
candidates as (
    select indicator_id, source, indicator_name, theme, unit, 0 as defined_rank from definitions
    union all select indicator_id, source, null, null, null, 1 from observed
),
chosen as (
    select * from (
        select *, row_number() over (partition by indicator_id
                                     order by defined_rank, {_rank('source', statistics_sources)}, source)
                   as choice
        from candidates
    ) where choice = 1
),
all_ids as (select indicator_id from chosen union select indicator_id from staging.mobility_indicators)
select cast(all_ids.indicator_id as varchar) as indicator_id,
       cast(coalesce(chosen.source, {_lit(v["uis_sources"][0])}) as varchar) as source,
       cast(coalesce(chosen.indicator_name, mobility_indicators.name,
                     case when starts_with(all_ids.indicator_id, 'owid:')
                          then substr(all_ids.indicator_id, 6) end)
            as varchar) as name,
       cast(chosen.theme as varchar) as theme,
       cast(coalesce(chosen.unit, mobility_indicators.unit) as varchar) as unit
from all_ids
left join chosen on all_ids.indicator_id = chosen.indicator_id
left join staging.mobility_indicators as mobility_indicators
    on all_ids.indicator_id = mobility_indicators.indicator_id""")
    add("dim_theme", """
create table marts.dim_theme as
select cast(theme_id as varchar) as theme_id, cast(min(theme_name_en) as varchar) as theme_name_en,
       cast(min(theme_name_zh) as varchar) as theme_name_zh,
       cast(string_agg(keyword, '; ' order by keyword) filter (where language = 'zh') as varchar)
           as keywords_zh,
       cast(string_agg(keyword, '; ' order by keyword) filter (where language = 'en') as varchar)
           as keywords_en,
       cast(count(*) as integer) as keyword_count
from staging.themes group by theme_id""")
    add("bridge_release_theme", BRIDGE_RELEASE_THEME)
    add("mart_country_exchange", f"""
create table marts.mart_country_exchange as
with flows as (select * from marts.fct_mobility_flow),
to_home as (
    select origin_iso3 as country_iso3, year, sum(students) as students_to_china
    from flows where destination_iso3 = {home} group by 1, 2
),
from_home as (
    select destination_iso3 as country_iso3, year, sum(students) as students_from_china
    from flows where origin_iso3 = {home} group by 1, 2
),
mentions_per_year as (
    select country_iso3, cast(extract(year from published_date) as integer) as year,
           count(*) as releases_mentioning,
           array_to_string(list_slice(list_sort(list(release_id)), 1, 5), ',') as release_ids_sample
    from int_release_country_mentions
    where published_date is not null and country_iso3 <> {home}
    group by 1, 2
),
keys as (
    select country_iso3, year from to_home
    union select country_iso3, year from from_home
    union select country_iso3, year from mentions_per_year
),
joined as (
    select keys.country_iso3, keys.year, to_home.students_to_china, from_home.students_from_china,
           coalesce(mentions_per_year.releases_mentioning, 0) as releases_mentioning,
           mentions_per_year.release_ids_sample
    from keys
    left join to_home on keys.country_iso3 = to_home.country_iso3 and keys.year = to_home.year
    left join from_home on keys.country_iso3 = from_home.country_iso3 and keys.year = from_home.year
    left join mentions_per_year
        on keys.country_iso3 = mentions_per_year.country_iso3 and keys.year = mentions_per_year.year
)
select cast(country_iso3 || '-' || cast(year as varchar) as varchar) as exchange_id,
       cast(country_iso3 as varchar) as country_iso3, cast(year as integer) as year,
       cast(students_to_china as double) as students_to_china,
       cast(students_from_china as double) as students_from_china,
       cast(releases_mentioning as integer) as releases_mentioning,
       cast(release_ids_sample as varchar) as release_ids_sample
from joined
where students_to_china is not null or students_from_china is not null or releases_mentioning > 0""")
    add("mart_opening_up_scorecard", f"""
create table marts.mart_opening_up_scorecard as
with mobility as (select * from int_mobility_pivoted where country_iso3 = {home}),
releases as (select * from marts.fct_policy_release where published_date is not null),
figures as (
    select * from marts.fct_release_figure
    where year is not null and metric in ({inbound_metric}, {outbound_metric})
),
statistics as (
    select year, inbound_students, inbound_source, outbound_students, outbound_source
    from mobility where inbound_source is not null or outbound_source is not null
),
release_counts as (
    select cast(extract(year from published_date) as integer) as year, count(*) as releases_total
    from releases group by 1
),
theme_counts as (
    select cast(extract(year from releases.published_date) as integer) as year, release_themes.theme_id,
           count(*) as release_count
    from marts.bridge_release_theme as release_themes
    inner join releases on release_themes.release_id = releases.release_id
    group by 1, 2
),
theme_json as (
    select year,
           '{{' || string_agg(cast(to_json(theme_id) as varchar) || ':' || cast(release_count as varchar),
                              ',' order by theme_id) || '}}' as releases_by_theme
    from theme_counts group by year
),
reported as (
    select year,
           max(value) filter (where metric = {inbound_metric}) as moe_reported_inbound,
           max(value) filter (where metric = {outbound_metric}) as moe_reported_outbound,
           string_agg(distinct release_id, ',' order by release_id) as figure_release_ids
    from figures group by year
),
inbound_origins as (
    select flows.year, sum(flows.students) as students_total,
           coalesce(sum(flows.students) filter (where countries.belt_and_road_status = 'signed'), 0)
               as students_belt_and_road,
           coalesce(sum(flows.students) filter (where countries.is_asean), 0) as students_asean
    from marts.fct_mobility_flow as flows
    left join marts.dim_country as countries on flows.origin_iso3 = countries.country_iso3
    where flows.destination_iso3 = {home} and flows.students is not null
    group by flows.year
),
years as (
    select year from statistics union select year from release_counts
    union select year from reported union select year from inbound_origins
)
select cast(years.year as integer) as year,
       cast(statistics.inbound_students as double) as inbound_students,
       cast(statistics.inbound_source as varchar) as inbound_source,
       cast(statistics.outbound_students as double) as outbound_students,
       cast(statistics.outbound_source as varchar) as outbound_source,
       cast(case when statistics.outbound_students > 0
                 then statistics.inbound_students / statistics.outbound_students end as double)
           as bringing_in_ratio,
       cast(coalesce(release_counts.releases_total, 0) as integer) as releases_total,
       cast(coalesce(theme_json.releases_by_theme, '{{}}') as varchar) as releases_by_theme,
       cast(reported.moe_reported_inbound as double) as moe_reported_inbound,
       cast(reported.moe_reported_outbound as double) as moe_reported_outbound,
       cast(reported.figure_release_ids as varchar) as figure_release_ids,
       cast(case when inbound_origins.students_total > 0
                 then inbound_origins.students_belt_and_road / inbound_origins.students_total end as double)
           as inbound_share_belt_and_road,
       cast(case when inbound_origins.students_total > 0
                 then inbound_origins.students_asean / inbound_origins.students_total end as double)
           as inbound_share_asean
from years
left join statistics on years.year = statistics.year
left join release_counts on years.year = release_counts.year
left join theme_json on years.year = theme_json.year
left join reported on years.year = reported.year
left join inbound_origins on years.year = inbound_origins.year""")
    return out


def _copy_raw(con: duckdb.DuckDBPyConnection, catalog: Path) -> None:
    """The raw copy `prepare_audit` makes: every raw table as a plain table in schema `raw`."""
    con.execute("create schema raw")
    con.execute("use raw")
    con.execute(SCHEMA)  # tables the catalog lacks still exist, empty
    con.execute("use main")
    con.execute(f"attach '{str(catalog).replace(chr(39), chr(39) * 2)}' as rawcat (read_only)")
    try:
        present = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'rawcat'").fetchall()}
        for table in RAW_TABLES:
            if table in present:
                con.execute(f"create or replace table raw.{table} as select * from rawcat.{table}")
    finally:
        con.execute("detach rawcat")


def _load_seeds(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema staging")
    for name, columns in SEEDS.items():
        path = str(DBT_PROJECT_DIR / "seeds" / f"{name}.csv").replace("'", "''")
        types = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        con.execute(f"create table staging.{name} as select * from read_csv('{path}', header = true, "
                    f"columns = {{{types}}})")


def build(home: Home, target: Path, *, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build the marts from `home`'s raw catalog into a fresh DuckDB file `target`; return timings."""
    for path in (target, Path(f"{target}.wal")):
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    # The pipeline's own DuckDB settings (memory cap, no insertion order), so the floor differs
    # from the dbt build in the tool alone, not in what DuckDB is allowed to do.
    con = duckdb.connect(str(target), config=duckdb_config())
    steps: dict[str, float] = {}
    try:
        con.execute("set enable_progress_bar = false")
        prepare = (("raw_copy", lambda: _copy_raw(con, home.catalog)), ("seeds", lambda: _load_seeds(con)))
        for name, call in prepare:
            t0 = time.perf_counter()
            call()
            steps[name] = time.perf_counter() - t0
        con.execute("create schema marts")
        for name, sql in statements():
            t0 = time.perf_counter()
            con.execute(sql)
            steps[name] = time.perf_counter() - t0
            if progress and steps[name] > 5:
                progress(f"plain SQL {name}: {steps[name]:.1f} s")
        con.execute("checkpoint")
    finally:
        con.close()
    return {"seconds": time.perf_counter() - started, "steps": {k: round(s, 3) for k, s in steps.items()}}


def fingerprints(database: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-free hash of every mart, doubles rounded to 6 decimals (sum order)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        result = {}
        for mart in MARTS:
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = 'marts' "
                "and table_name = ? order by column_name", [mart]).fetchall()
            if not columns:
                continue
            parts = [f"round({name}, 6)" if kind == "DOUBLE" else f'"{name}"' for name, kind in columns]
            count, digest = con.execute(
                f"select count(*), coalesce(sum(hash({', '.join(parts)})), 0) from marts.{mart}").fetchone()
            result[mart] = (count, str(digest))
        return result
    finally:
        con.close()
