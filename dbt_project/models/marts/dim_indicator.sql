{%- set statistics_sources = var('uis_sources') + var('worldbank_sources') + var('owid_sources')
                             + var('uis_flow_sources') + var('oecd_sources') -%}

with

uis_definitions as (

    select * from {{ ref('stg_uis__indicators') }}

),

worldbank_definitions as (

    select * from {{ ref('stg_worldbank__indicators') }}

),

mobility_indicators as (

    select * from {{ ref('mobility_indicators') }}

),

observations as (

    select * from {{ ref('int_observations_unified') }}

),

oecd_flows as (

    select * from {{ ref('stg_oecd__flows') }}

),

uis_flows as (

    select * from {{ ref('stg_uis__flows') }}

),

definitions as (

    select indicator_id, source, indicator_name, theme, unit from uis_definitions
    union all
    select indicator_id, source, indicator_name, theme, unit from worldbank_definitions

),

observed as (

    select distinct indicator_id, source from observations
    union
    select distinct indicator_id, source from oecd_flows
    union
    select distinct indicator_id, source from uis_flows

),

candidates as (

    -- an indicator's source is the one that defines it, else the first in precedence order
    -- that reports it; an id two publishers share keeps the definition of the first
    select indicator_id, source, indicator_name, theme, unit, 0 as defined_rank from definitions
    union all
    select
        indicator_id, source, null as indicator_name, null as theme, null as unit, 1 as defined_rank
    from observed

),

one_per_indicator as (

    select
        *,
        row_number() over (
            partition by indicator_id
            order by
                defined_rank,
                {{ precedence_rank('source', statistics_sources) }},
                source
        ) as choice

    from candidates

),

chosen as (

    select * from one_per_indicator
    where choice = 1

),

all_ids as (

    select indicator_id from chosen
    union
    select indicator_id from mobility_indicators

),

final as (

    select
        cast(all_ids.indicator_id as varchar) as indicator_id,
        cast(coalesce(chosen.source, '{{ var("uis_sources")[0] }}') as varchar) as source,
        cast(
            coalesce(
                chosen.indicator_name,
                mobility_indicators.name,
                -- OWID names its series by the CSV column: 'owid:<metric>'
                case when starts_with(all_ids.indicator_id, 'owid:') then substr(all_ids.indicator_id, 6) end
            ) as varchar
        ) as name,
        cast(chosen.theme as varchar) as theme,
        cast(coalesce(chosen.unit, mobility_indicators.unit) as varchar) as unit

    from all_ids
    left join chosen
        on all_ids.indicator_id = chosen.indicator_id
    left join mobility_indicators
        on all_ids.indicator_id = mobility_indicators.indicator_id

)

select * from final
