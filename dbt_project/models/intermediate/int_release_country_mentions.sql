with

matches as (

    -- the name matching lives in int_release_country_matches, which keeps it between runs
    select * from {{ ref('int_release_country_matches') }}
    where country_iso3 is not null

),

releases as (

    select * from {{ ref('int_releases_deduplicated') }}

),

final as (

    select
        matches.release_id,
        matches.country_iso3,
        releases.published_date,
        matches.matched_terms

    from matches
    inner join releases
        on matches.release_id = releases.release_id

)

select * from final
