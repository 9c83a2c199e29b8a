{%- set home = var('home_country') -%}
{#- The MOE statistics set beside the series: name -> (measure, breakdown, member_code, unit) -#}
{%- set moe_measures = {
    'moe_reported_inbound': ('international_students_in_china', 'degree_level', 'degree', 'persons'),
    'moe_reported_inbound_all_types': ('international_students_in_china', 'total', 'total', 'persons'),
    'moe_reported_outbound': ('students_going_abroad', 'total', 'total', 'persons'),
    'moe_reported_returnees': ('returnees', 'total', 'total', 'persons'),
    'moe_share_belt_and_road_pct': ('international_students_in_china', 'country_group', 'belt_and_road', 'percent'),
    'moe_students_belt_and_road': ('international_students_in_china', 'country_group', 'belt_and_road', 'persons'),
} -%}

with

mobility as (

    select * from {{ ref('fct_student_mobility') }}
    where country_iso3 = '{{ home }}'

),

releases as (

    select * from {{ ref('fct_policy_release') }}

),

release_themes as (

    select * from {{ ref('bridge_release_theme') }}

),

moe as (

    select * from {{ ref('fct_moe_student_statistic') }}

),

countries as (

    select * from {{ ref('dim_country') }}

),

cooperative as (

    select * from {{ ref('fct_cooperative_programme') }}

),

register as (

    -- without the register loaded a count is unknown (NULL), not 0
    select count(*) > 0 as is_loaded
    from cooperative

),

approvals as (

    -- every entry approved that year, once (its current version), whatever its partners' countries
    select
        approval_year as year,
        count(distinct url) filter (where record_kind = 'institution') as cooperative_institutions_approved,
        count(distinct url) filter (where record_kind = 'programme') as cooperative_programmes_approved

    from cooperative
    where is_current_version
        and approval_year is not null
    group by approval_year

),

statistics as (

    -- a year UIS reports on, even when it flags the number missing (the value stays NULL)
    select
        year,
        inbound_students,
        inbound_status,
        inbound_source,
        outbound_students,
        outbound_status,
        outbound_source

    from mobility
    where inbound_source is not null or outbound_source is not null

),

coverage as (

    select {{ release_coverage_start_year('published_date') }} as start_year
    from releases

),

dated_events as (

    -- one event, many versions (Chinese and English, reposts): counted once, in the year of the
    -- release kept for it
    select
        coalesce(event_id, release_id) as event_key,
        release_id,
        cast(extract(year from published_date) as integer) as year

    from releases
    where published_date is not null

),

release_counts as (

    select
        year,
        count(distinct event_key) as releases_total

    from dated_events
    group by year

),

theme_counts as (

    select
        dated_events.year,
        release_themes.theme_id,
        count(distinct dated_events.event_key) as release_count

    from release_themes
    inner join dated_events
        on release_themes.release_id = dated_events.release_id
    group by dated_events.year, release_themes.theme_id

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

moe_picked as (

    -- fct_moe_student_statistic already chose one statement per member as written; two written
    -- forms of one member (学历生, 接受学历教育的外国留学生) are chosen between by the same rule
    select *
    from (
        select
            *,
            row_number() over (
                partition by period_year, measure, breakdown, member_code, unit
                order by
                    {{ precedence_rank('source', var('moe_statistics_source_precedence')) }},
                    -- a number stated exactly before a rounded "突破44万" / "about"
                    case when qualifier = 'exact' then 0 else 1 end,
                    published_date asc nulls last,
                    release_id asc
            ) as pick_rank
        from moe
        where member_code is not null
    )
    where pick_rank = 1

),

reported as (

    select
        period_year as year,
        {%- for name, key in moe_measures.items() %}
        max(value) filter (
            where measure = '{{ key[0] }}' and breakdown = '{{ key[1] }}'
            and member_code = '{{ key[2] }}' and unit = '{{ key[3] }}'
        ) as {{ name }},
        max(source) filter (
            where measure = '{{ key[0] }}' and breakdown = '{{ key[1] }}'
            and member_code = '{{ key[2] }}' and unit = '{{ key[3] }}'
        ) as {{ name }}_source,
        max(qualifier) filter (
            where measure = '{{ key[0] }}' and breakdown = '{{ key[1] }}'
            and member_code = '{{ key[2] }}' and unit = '{{ key[3] }}'
        ) as {{ name }}_qualifier,
        {%- endfor %}
        string_agg(distinct release_id, ',' order by release_id) filter (
            where {% for name, key in moe_measures.items() -%}
            (
                measure = '{{ key[0] }}' and breakdown = '{{ key[1] }}'
                and member_code = '{{ key[2] }}' and unit = '{{ key[3] }}'
            )
            {%- if not loop.last %} or {% endif %}
            {%- endfor %}
        ) as figure_release_ids

    from moe_picked
    group by period_year

),

listed_countries as (

    -- MOE lists only its top countries of origin (15 a year): what they show of a group is a
    -- lower bound of the group's share
    select
        moe.period_year as year,
        count(*) as moe_listed_countries,
        sum(moe.value) filter (
            where countries.is_asean and coalesce(countries.asean_member_since, 0) <= moe.period_year
        ) as students_asean_listed,
        sum(moe.value) filter (where countries.belt_and_road_status = 'signed') as students_belt_and_road_listed,
        max(moe.source) as listed_source

    from moe
    left join countries
        on moe.country_iso3 = countries.country_iso3
    where moe.measure = 'international_students_in_china'
        and moe.breakdown = 'country'
        and moe.unit = 'persons'
    group by moe.period_year

),

years as (

    select year from statistics
    union
    select year from release_counts
    union
    select year from reported
    union
    select year from approvals

),

joined as (

    select
        years.year,
        -- sqlfluff reads the column named in `* exclude (...)` as an unqualified reference
        -- noqa: disable=RF02
        statistics.* exclude (year),
        reported.* exclude (year),
        listed_countries.* exclude (year),
        -- noqa: enable=RF02
        release_counts.releases_total,
        theme_json.releases_by_theme,
        coverage.start_year,
        case
            when register.is_loaded then coalesce(approvals.cooperative_institutions_approved, 0)
        end as cooperative_institutions_approved,
        case
            when register.is_loaded then coalesce(approvals.cooperative_programmes_approved, 0)
        end as cooperative_programmes_approved,
        -- MOE's share of the Belt and Road countries: as it states it, else computed from the
        -- count it states and its all-types total
        case
            when reported.moe_share_belt_and_road_pct is not null
                then reported.moe_share_belt_and_road_pct / 100
            when reported.moe_reported_inbound_all_types > 0
                then reported.moe_students_belt_and_road / reported.moe_reported_inbound_all_types
        end as share_belt_and_road,
        case
            when reported.moe_share_belt_and_road_pct is not null then 'published'
            when reported.moe_reported_inbound_all_types > 0
                and reported.moe_students_belt_and_road is not null then 'derived'
        end as share_belt_and_road_status,
        coalesce(reported.moe_share_belt_and_road_pct_source, reported.moe_students_belt_and_road_source)
            as share_belt_and_road_source

    from years
    cross join coverage
    cross join register
    left join statistics
        on years.year = statistics.year
    left join release_counts
        on years.year = release_counts.year
    left join theme_json
        on years.year = theme_json.year
    left join reported
        on years.year = reported.year
    left join listed_countries
        on years.year = listed_countries.year
    left join approvals
        on years.year = approvals.year

),

final as (

    select
        cast(year as integer) as year,
        cast(inbound_students as double) as inbound_students,
        cast(inbound_status as varchar) as inbound_status,
        cast(inbound_source as varchar) as inbound_source,
        cast(outbound_students as double) as outbound_students,
        cast(outbound_status as varchar) as outbound_status,
        cast(outbound_source as varchar) as outbound_source,
        -- DuckDB divides by zero into Infinity: an unknown or zero denominator gives NULL
        cast(
            case when outbound_students > 0 then inbound_students / outbound_students end as double
        ) as bringing_in_ratio,
        cast(
            case when outbound_students > 0 and inbound_students is not null then 'derived' end as varchar
        ) as bringing_in_ratio_status,
        cast(
            case
                when outbound_students > 0 and inbound_students is not null
                    then case
                            when inbound_source = outbound_source then inbound_source
                            else inbound_source || '+' || outbound_source
                        end
            end as varchar
        ) as bringing_in_ratio_source,
        -- a year before the release sources' coverage was not collected: NULL, never 0
        cast(case when year >= start_year then coalesce(releases_total, 0) end as integer) as releases_total,
        cast(case when year >= start_year then coalesce(releases_by_theme, '{}') end as varchar)
            as releases_by_theme,
        cast(start_year as integer) as releases_coverage_start_year,
        {%- for name in ['moe_reported_inbound', 'moe_reported_inbound_all_types', 'moe_reported_outbound',
                         'moe_reported_returnees'] %}
        cast({{ name }} as double) as {{ name }},
        cast(case when {{ name }} is not null then 'published' end as varchar) as {{ name }}_status,
        cast({{ name }}_source as varchar) as {{ name }}_source,
        cast({{ name }}_qualifier as varchar) as {{ name }}_qualifier,
        {%- endfor %}
        cast(figure_release_ids as varchar) as figure_release_ids,
        cast(share_belt_and_road as double) as inbound_share_belt_and_road,
        cast(share_belt_and_road_status as varchar) as inbound_share_belt_and_road_status,
        cast(share_belt_and_road_source as varchar) as inbound_share_belt_and_road_source,
        cast(moe_listed_countries as integer) as moe_listed_countries,
        cast(
            case
                when moe_reported_inbound_all_types > 0 and moe_listed_countries > 0
                    then coalesce(students_asean_listed, 0) / moe_reported_inbound_all_types
            end as double
        ) as inbound_share_asean_listed,
        cast(
            case when moe_reported_inbound_all_types > 0 and moe_listed_countries > 0 then 'derived' end
            as varchar
        ) as inbound_share_asean_listed_status,
        cast(
            case when moe_reported_inbound_all_types > 0 and moe_listed_countries > 0 then listed_source end
            as varchar
        ) as inbound_share_asean_listed_source,
        cast(
            case
                when moe_reported_inbound_all_types > 0 and moe_listed_countries > 0
                    then coalesce(students_belt_and_road_listed, 0) / moe_reported_inbound_all_types
            end as double
        ) as inbound_share_belt_and_road_listed,
        cast(
            case when moe_reported_inbound_all_types > 0 and moe_listed_countries > 0 then 'derived' end
            as varchar
        ) as inbound_share_belt_and_road_listed_status,
        cast(
            case when moe_reported_inbound_all_types > 0 and moe_listed_countries > 0 then listed_source end
            as varchar
        ) as inbound_share_belt_and_road_listed_source,
        cast(cooperative_institutions_approved as integer) as cooperative_institutions_approved,
        cast(cooperative_programmes_approved as integer) as cooperative_programmes_approved

    from joined

)

select * from final
