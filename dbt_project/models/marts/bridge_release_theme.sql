with

matches as (

    -- the matching itself lives in int_release_theme_matches, which keeps it between runs
    select * from {{ ref('int_release_theme_matches') }}
    where theme_id is not null

),

releases as (

    select release_id from {{ ref('fct_policy_release') }}

),

final as (

    select
        cast(matches.release_id as varchar) as release_id,
        cast(matches.theme_id as varchar) as theme_id,
        cast(matches.matched_keywords as varchar) as matched_keywords

    from matches
    inner join releases
        on matches.release_id = releases.release_id

)

select * from final
