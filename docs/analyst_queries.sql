-- EduOpen: example queries for analysts.
--
-- Run them from the project directory, where the default EDUOPEN_HOME is ./data:
--   * in DuckDB (CLI, Python, DBeaver…) on the PUBLISHED warehouse, opened read-only so the
--     pipeline can keep publishing:  duckdb.connect("data/warehouse.duckdb", read_only=True)
--   * the read_parquet(...) queries need no warehouse at all: they read the Parquet exports in
--     data/exports/, which is also what a BI tool (Superset, Metabase, Power BI, Tableau) reads.
-- Every query below is run by tests/integration/test_analyst_queries.py.

-- name: Students coming to China vs Chinese students going abroad, by year
-- Each value says what it is: 'published' as UIS gives it, 'estimate' (UIS's own flag) or
-- 'derived' here (outbound = inbound - net flow; see the dbt docs of fct_student_mobility).
select
    year,
    inbound_students,
    inbound_status,
    outbound_students,
    outbound_status,
    -- a missing year stays missing (NULL), it is never counted as zero
    round(inbound_students / nullif(outbound_students, 0), 3) as bringing_in_ratio,
    data_version
from marts.fct_student_mobility
where country_iso3 = 'CHN'
order by year;

-- name: Partner countries: students each way between China and the partner
-- Students coming to China are MOE's by-country statistics (its top-15 list), Chinese students
-- going there the UIS-derived flows; the year is the latest in which MOE lists countries.
with latest as (
    select max(year) as year
    from marts.mart_country_exchange
    where students_to_china is not null
)
select
    exchange.country_iso3,
    country.name_en,
    country.name_zh,
    exchange.year,
    exchange.students_to_china,
    exchange.students_to_china_status,
    exchange.students_from_china,
    exchange.students_from_china_status,
    exchange.students_from_china_source
from marts.mart_country_exchange as exchange
inner join latest
    on exchange.year = latest.year
inner join marts.dim_country as country
    on exchange.country_iso3 = country.country_iso3
where exchange.students_to_china is not null
    or exchange.students_from_china is not null
order by exchange.students_to_china desc nulls last, exchange.students_from_china desc nulls last;

-- name: Belt and Road and ASEAN partners: students coming to China, counting only countries with values
-- A country without a value is not a zero: it is left out of both the count and the sum.
select
    exchange.year,
    count(exchange.students_to_china) filter (where country.belt_and_road_status = 'signed')
        as belt_and_road_countries_with_values,
    sum(exchange.students_to_china) filter (where country.belt_and_road_status = 'signed')
        as belt_and_road_students_to_china,
    count(exchange.students_to_china) filter (where country.is_asean) as asean_countries_with_values,
    sum(exchange.students_to_china) filter (where country.is_asean) as asean_students_to_china
from marts.mart_country_exchange as exchange
inner join marts.dim_country as country
    on exchange.country_iso3 = country.country_iso3
where exchange.students_to_china is not null
group by exchange.year
order by exchange.year;

-- name: The opening-up scorecard, one row per year
-- moe_reported_inbound is MOE's degree-seeking count, the definition of UIS inbound; the all-types
-- total also counts non-degree students. *_listed shares are lower bounds (MOE lists 15 countries).
select
    year,
    inbound_students,
    inbound_status,
    outbound_students,
    outbound_status,
    bringing_in_ratio,
    moe_reported_inbound,
    moe_reported_inbound_all_types,
    moe_reported_outbound,
    moe_reported_returnees,
    inbound_share_belt_and_road,
    inbound_share_asean_listed,
    -- NULL before the release sources' coverage starts: not collected, not zero
    releases_total,
    releases_coverage_start_year
from marts.mart_opening_up_scorecard
order by year desc;

-- name: MOE's Study-in-China statistics by country of origin, with the sentence they come from
select
    statistic.period_year,
    statistic.member,
    statistic.country_iso3,
    country.name_en,
    statistic.value as students,
    statistic.qualifier,
    statistic.url,
    statistic.sentence
from marts.fct_moe_student_statistic as statistic
left join marts.dim_country as country
    on statistic.country_iso3 = country.country_iso3
where statistic.measure = 'international_students_in_china'
    and statistic.breakdown = 'country'
    and statistic.unit = 'persons'
order by statistic.period_year desc, statistic.value desc;

-- name: Figures the Ministry stated, with how exact they are and the year they are about
select
    figure.period_year,
    figure.metric,
    figure.value,
    figure.unit,
    figure.qualifier,
    release.published_date,
    release.title
from marts.fct_release_figure as figure
inner join marts.fct_policy_release as release
    on figure.release_id = release.release_id
order by figure.period_year desc nulls last, figure.metric;

-- name: Latest Chinese-language policy releases
select
    published_date,
    title,
    issuing_body,
    url
from marts.fct_policy_release
where language = 'zh'
order by published_date desc
limit 10;

-- name: Policy releases per year and language
-- An event told in Chinese and in English counts once in events, once per language in releases.
select
    year(published_date) as year,
    language,
    count(*) as releases,
    count(distinct event_id) as events
from marts.fct_policy_release
group by all
order by year, language;

-- name: Policy releases per theme and year
select
    year(release.published_date) as year,
    theme.theme_name_en,
    theme.theme_name_zh,
    count(distinct release.event_id) as events
from marts.bridge_release_theme as bridge
inner join marts.fct_policy_release as release
    on bridge.release_id = release.release_id
inner join marts.dim_theme as theme
    on bridge.theme_id = theme.theme_id
group by all
order by year desc, events desc;

-- name: Releases about studying in China (Chinese or English text)
select
    published_date,
    title,
    url
from marts.fct_policy_release
where title || ' ' || coalesce(body_text, '') like '%来华留学%'
    or title || ' ' || coalesce(body_text, '') ilike '%study in china%'
order by published_date desc;

-- name: Parquet export: China's inbound and outbound students (what a BI tool reads)
select
    year,
    inbound_students,
    outbound_students
from read_parquet('data/exports/fct_student_mobility.parquet')
where country_iso3 = 'CHN'
order by year;

-- name: Parquet exports joined: releases per theme
select
    theme.theme_name_en,
    theme.theme_name_zh,
    count(*) as releases
from read_parquet('data/exports/bridge_release_theme.parquet') as bridge
inner join read_parquet('data/exports/dim_theme.parquet') as theme
    on bridge.theme_id = theme.theme_id
group by all
order by releases desc, theme.theme_name_en;
