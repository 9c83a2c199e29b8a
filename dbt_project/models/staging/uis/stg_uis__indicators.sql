with

source as (

    -- the flow sources name their flow series too (landing writes the definition with the rows)
    select * from {{ source('raw', 'indicator_definition') }}
    where source in ({{ sql_list(var('uis_sources') + var('uis_flow_sources')) }})

),

one_per_indicator as (

    select
        *,
        row_number() over (
            partition by indicator_id
            order by {{ precedence_rank('source', var('uis_sources')) }}, batch_sha256 desc
        ) as source_rank

    from source

),

final as (

    select
        trim(indicator_id) as indicator_id,
        nullif(trim(name), '') as indicator_name,
        nullif(trim(theme), '') as theme,
        -- UIS labels end with the unit in brackets: '... both sexes (%)', '... (number)'
        case regexp_extract(name, '\(([^()]+)\)\s*$', 1)
            when '' then null
            when '%' then 'percent'
            else lower(regexp_extract(name, '\(([^()]+)\)\s*$', 1))
        end as unit,
        last_data_update,
        source,
        batch_sha256

    from one_per_indicator
    where source_rank = 1

)

select * from final
