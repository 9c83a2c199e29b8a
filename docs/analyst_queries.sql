-- EduOpen: example queries for analysts.
--
-- Run them from the project directory, where the default EDUOPEN_HOME is ./data:
--   * in DuckDB (CLI, Python, DBeaver…) on the PUBLISHED warehouse, opened read-only so the
--     pipeline can keep publishing:  duckdb.connect("data/warehouse.duckdb", read_only=True)
--   * the read_parquet(...) queries need no warehouse at all: they read the Parquet exports in
--     data/exports/, which is also what a BI tool (Superset, Metabase, Power BI, Tableau) reads.
-- Every query below is run by tests/integration/test_analyst_queries.py.

-- name: Students coming to China vs Chinese students going abroad, by year
select
    year,
    inbound_students,
    outbound_students,
    -- a missing year stays missing (NULL), it is never counted as zero
    round(inbound_students / nullif(outbound_students, 0), 3) as bringing_in_ratio
from marts.fct_student_mobility
where country_iso3 = 'CHN'
order by year;

-- name: Partner countries in the latest year, with English and Chinese names
with latest as (
    select max(year) as year
    from marts.fct_student_mobility
    where country_iso3 <> 'CHN'
        and coalesce(inbound_students, outbound_students) is not null
)
select
    mobility.country_iso3,
    country.name_en,
    country.name_zh,
    country.is_asean,
    country.belt_and_road_status,
    mobility.year,
    mobility.inbound_students as students_hosted,
    mobility.outbound_students as students_sent_abroad
from marts.fct_student_mobility as mobility
inner join latest
    on mobility.year = latest.year
inner join marts.dim_country as country
    on mobility.country_iso3 = country.country_iso3
where mobility.country_iso3 <> 'CHN'
order by mobility.inbound_students desc nulls last
limit 15;

-- name: Belt and Road and ASEAN partners, students hosted per year
select
    mobility.year,
    count(*) filter (where country.belt_and_road_status = 'signed') as belt_and_road_countries,
    sum(mobility.inbound_students) filter (where country.belt_and_road_status = 'signed')
        as belt_and_road_students_hosted,
    sum(mobility.inbound_students) filter (where country.is_asean) as asean_students_hosted
from marts.fct_student_mobility as mobility
inner join marts.dim_country as country
    on mobility.country_iso3 = country.country_iso3
where mobility.country_iso3 <> 'CHN'
group by mobility.year
order by mobility.year;

-- name: The opening-up scorecard, one row per year
select
    year,
    inbound_students,
    outbound_students,
    bringing_in_ratio,
    moe_reported_inbound,
    moe_reported_outbound,
    inbound_share_belt_and_road,
    inbound_share_asean,
    releases_total
from marts.mart_opening_up_scorecard
order by year desc;

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
select
    year(published_date) as year,
    language,
    count(*) as releases
from marts.fct_policy_release
group by all
order by year, language;

-- name: Policy releases per theme and year
select
    year(release.published_date) as year,
    theme.theme_name_en,
    theme.theme_name_zh,
    count(*) as releases
from marts.bridge_release_theme as bridge
inner join marts.fct_policy_release as release
    on bridge.release_id = release.release_id
inner join marts.dim_theme as theme
    on bridge.theme_id = theme.theme_id
group by all
order by year desc, releases desc;

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
