with

source as (

    select * from {{ source('raw', 'release_figure') }}

),

final as (

    select
        source,
        url,
        content_sha256,
        figure_index,
        lower(trim(metric)) as metric,
        value,
        nullif(lower(trim(unit)), '') as unit,
        coalesce(nullif(lower(trim(qualifier)), ''), 'exact') as qualifier,
        period_year,
        trim(sentence) as sentence

    from source

)

select * from final
