with

definitions as (

    select * from {{ ref('stg_uis__indicators') }}

),

mobility_indicators as (

    select * from {{ ref('mobility_indicators') }}

),

observations as (

    select * from {{ ref('stg_uis__observations') }}

),

observed as (

    select
        indicator_id,
        min(source) as source

    from observations
    group by indicator_id

),

all_ids as (

    select indicator_id from definitions
    union
    select indicator_id from mobility_indicators
    union
    select indicator_id from observed

),

final as (

    select
        cast(all_ids.indicator_id as varchar) as indicator_id,
        cast(
            coalesce(definitions.source, observed.source, '{{ var("uis_sources")[0] }}') as varchar
        ) as source,
        cast(coalesce(definitions.indicator_name, mobility_indicators.name) as varchar) as name,
        cast(definitions.theme as varchar) as theme,
        cast(coalesce(definitions.unit, mobility_indicators.unit) as varchar) as unit

    from all_ids
    left join definitions
        on all_ids.indicator_id = definitions.indicator_id
    left join mobility_indicators
        on all_ids.indicator_id = mobility_indicators.indicator_id
    left join observed
        on all_ids.indicator_id = observed.indicator_id

)

select * from final
