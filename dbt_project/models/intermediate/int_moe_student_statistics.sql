with

statistics as (

    select * from {{ ref('stg_raw__release_statistics') }}

),

releases as (

    select * from {{ ref('int_releases_deduplicated') }}

),

country_names as (

    select * from {{ ref('moe_country_names') }}

),

members as (

    select * from {{ ref('moe_statistic_members') }}

),

final as (

    -- Rows of the version the release mart shows: a superseded version's or a collapsed repost's
    -- copy of a table would state each number twice.
    select
        releases.release_id || '-' || cast(statistics.row_index as varchar) as release_statistic_id,
        releases.release_id,
        statistics.row_index,
        statistics.period_year,
        statistics.measure,
        statistics.breakdown,
        statistics.member,
        coalesce(members.member_code, country_names.country_iso3) as member_code,
        country_names.country_iso3,
        -- a country MOE names that the seed does not know: kept, flagged, never guessed
        statistics.breakdown = 'country' and country_names.country_iso3 is null as is_unmapped_country,
        statistics.value,
        statistics.unit,
        statistics.qualifier,
        statistics.sentence,
        statistics.source,
        statistics.url,
        statistics.content_sha256,
        releases.published_date

    from statistics
    inner join releases
        on statistics.url = releases.url
        and statistics.content_sha256 = releases.content_sha256
    left join country_names
        on statistics.breakdown = 'country'
        and statistics.member = country_names.member
    left join members
        on statistics.breakdown = members.breakdown
        and statistics.member = members.member

)

select * from final
