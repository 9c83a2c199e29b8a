{%- set home = var('home_country') -%}

with

mobility as (

    select * from {{ ref('int_mobility_pivoted') }}
    where country_iso3 = '{{ home }}'

),

releases as (

    select * from {{ ref('fct_policy_release') }}
    where published_date is not null

),

release_themes as (

    select * from {{ ref('bridge_release_theme') }}

),

figures as (

    select * from {{ ref('fct_release_figure') }}
    where year is not null
        and metric in ('{{ var("inbound_figure_metric") }}', '{{ var("outbound_figure_metric") }}')

),

flows as (

    select * from {{ ref('fct_mobility_flow') }}

),

countries as (

    select * from {{ ref('dim_country') }}

),

statistics as (

    -- a year UIS reports on, even when it flags the number missing (the value stays NULL)
    select
        year,
        inbound_students,
        inbound_source,
        outbound_students,
        outbound_source

    from mobility
    where inbound_source is not null or outbound_source is not null

),

release_counts as (

    select
        cast(extract(year from published_date) as integer) as year,
        count(*) as releases_total

    from releases
    group by 1

),

theme_counts as (

    select
        cast(extract(year from releases.published_date) as integer) as year,
        release_themes.theme_id,
        count(*) as release_count

    from release_themes
    inner join releases
        on release_themes.release_id = releases.release_id
    group by 1, 2

),

theme_json as (

    -- a JSON object built by hand so that its keys come out sorted, the same on every run
    select
        year,
        '{' || string_agg(
            cast(to_json(theme_id) as varchar) || ':' || cast(release_count as varchar), ','
            order by theme_id
        ) || '}' as releases_by_theme

    from theme_counts
    group by year

),

reported as (

    -- several releases may restate a year's figure (or revise it): the largest is shown, and
    -- every release that stated one is listed
    select
        year,
        max(value) filter (where metric = '{{ var("inbound_figure_metric") }}') as moe_reported_inbound,
        max(value) filter (where metric = '{{ var("outbound_figure_metric") }}') as moe_reported_outbound,
        string_agg(distinct release_id, ',' order by release_id) as figure_release_ids

    from figures
    group by year

),

inbound_origins as (

    -- students coming to the home country, by the origin's Belt and Road / ASEAN standing;
    -- an origin outside the curated seed counts in the total and in neither group
    select
        flows.year,
        sum(flows.students) as students_total,
        coalesce(sum(flows.students) filter (where countries.belt_and_road_status = 'signed'), 0)
            as students_belt_and_road,
        coalesce(sum(flows.students) filter (where countries.is_asean), 0) as students_asean

    from flows
    left join countries
        on flows.origin_iso3 = countries.country_iso3
    where flows.destination_iso3 = '{{ home }}'
        and flows.students is not null
    group by flows.year

),

years as (

    select year from statistics
    union
    select year from release_counts
    union
    select year from reported
    union
    select year from inbound_origins

),

final as (

    select
        cast(years.year as integer) as year,
        cast(statistics.inbound_students as double) as inbound_students,
        cast(statistics.inbound_source as varchar) as inbound_source,
        cast(statistics.outbound_students as double) as outbound_students,
        cast(statistics.outbound_source as varchar) as outbound_source,
        -- DuckDB divides by zero into Infinity: an unknown or zero denominator gives NULL
        cast(
            case
                when statistics.outbound_students > 0
                    then statistics.inbound_students / statistics.outbound_students
            end as double
        ) as bringing_in_ratio,
        cast(coalesce(release_counts.releases_total, 0) as integer) as releases_total,
        cast(coalesce(theme_json.releases_by_theme, '{}') as varchar) as releases_by_theme,
        cast(reported.moe_reported_inbound as double) as moe_reported_inbound,
        cast(reported.moe_reported_outbound as double) as moe_reported_outbound,
        cast(reported.figure_release_ids as varchar) as figure_release_ids,
        cast(
            case
                when inbound_origins.students_total > 0
                    then inbound_origins.students_belt_and_road / inbound_origins.students_total
            end as double
        ) as inbound_share_belt_and_road,
        cast(
            case
                when inbound_origins.students_total > 0
                    then inbound_origins.students_asean / inbound_origins.students_total
            end as double
        ) as inbound_share_asean

    from years
    left join statistics
        on years.year = statistics.year
    left join release_counts
        on years.year = release_counts.year
    left join theme_json
        on years.year = theme_json.year
    left join reported
        on years.year = reported.year
    left join inbound_origins
        on years.year = inbound_origins.year

)

select * from final
