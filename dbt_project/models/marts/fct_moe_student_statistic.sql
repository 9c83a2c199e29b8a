with

statistics as (

    select * from {{ ref('int_moe_student_statistics') }}
    where period_year is not null

),

ranked as (

    -- One statement per statistic: the Ministry's own site before the reposts, then an exact
    -- statement before a rounded or bounded one, then the earliest publication (the original
    -- before a later restatement), then the release_id so the choice is the same on every run.
    -- Never the largest value: reposts and restatements do not vote.
    select
        *,
        row_number() over (
            partition by period_year, measure, breakdown, member, unit
            order by
                {{ precedence_rank('source', var('moe_statistics_source_precedence')) }},
                -- a number stated exactly before a rounded "突破44万" / "about"
                case when qualifier = 'exact' then 0 else 1 end,
                published_date asc nulls last,
                release_id asc
        ) as statement_rank,
        count(distinct release_id) over (
            partition by period_year, measure, breakdown, member, unit
        ) as releases_stating,
        count(distinct value) over (
            partition by period_year, measure, breakdown, member, unit
        ) as values_stated

    from statistics

),

final as (

    select
        cast(
            cast(period_year as varchar) || '|' || measure || '|' || breakdown || '|' || member
            || '|' || unit as varchar
        ) as statistic_id,
        cast(period_year as integer) as period_year,
        cast(measure as varchar) as measure,
        cast(breakdown as varchar) as breakdown,
        cast(member as varchar) as member,
        cast(member_code as varchar) as member_code,
        cast(country_iso3 as varchar) as country_iso3,
        cast(is_unmapped_country as boolean) as is_unmapped_country,
        cast(value as double) as value,
        cast(unit as varchar) as unit,
        cast(qualifier as varchar) as qualifier,
        cast('published' as varchar) as value_status,
        cast(release_id as varchar) as release_id,
        cast(url as varchar) as url,
        cast(source as varchar) as source,
        cast(published_date as date) as published_date,
        cast(sentence as varchar) as sentence,
        cast(content_sha256 as varchar) as content_sha256,
        cast(releases_stating as integer) as releases_stating,
        cast(values_stated as integer) as values_stated

    from ranked
    where statement_rank = 1

)

select * from final
