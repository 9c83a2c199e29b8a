with

source as (

    select * from {{ source('raw', 'indicator_definition') }}
    where source in ({{ sql_list(var('worldbank_sources')) }})

),

one_per_indicator as (

    select
        *,
        row_number() over (
            partition by indicator_id
            order by {{ precedence_rank('source', var('worldbank_sources')) }}, batch_sha256 desc
        ) as source_rank

    from source

),

final as (

    select
        trim(indicator_id) as indicator_id,
        nullif(trim(name), '') as indicator_name,
        nullif(trim(theme), '') as theme,
        -- World Bank names end with the unit in brackets: 'Population, total' has none,
        -- 'School enrollment, tertiary (% gross)' says '% gross'
        nullif(regexp_extract(name, '\(([^()]+)\)\s*$', 1), '') as unit,
        source,
        batch_sha256

    from one_per_indicator
    where source_rank = 1

)

select * from final
