with

figures as (

    select * from {{ ref('stg_raw__release_figures') }}

),

releases as (

    select * from {{ ref('int_releases_deduplicated') }}

),

final as (

    -- Figures of the version the release mart shows: those of a superseded version, or of a
    -- repost collapsed onto another URL, would count a statement twice.
    select
        releases.release_id || '-' || cast(figures.figure_index as varchar) as figure_id,
        releases.release_id,
        figures.figure_index,
        figures.metric,
        figures.value,
        figures.unit,
        figures.qualifier,
        figures.period_year,
        figures.sentence,
        figures.source,
        figures.content_sha256

    from figures
    inner join releases
        on figures.url = releases.url
        and figures.content_sha256 = releases.content_sha256

)

select * from final
