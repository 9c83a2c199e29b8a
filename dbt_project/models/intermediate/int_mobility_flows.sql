{%- set home = var('home_country') -%}

with

oecd_flows as (

    select * from {{ ref('stg_oecd__flows') }}

),

observations as (

    select * from {{ ref('int_observations_unified') }}

),

geo_units as (

    select * from {{ ref('int_geo_units_mapped') }}

),

oecd_mapped as (

    select
        oecd_flows.source,
        oecd_flows.indicator_id,
        origins.country_iso3 as origin_iso3,
        destinations.country_iso3 as destination_iso3,
        oecd_flows.year,
        oecd_flows.value as students,
        oecd_flows.magnitude,
        oecd_flows.qualifier,
        oecd_flows.data_version,
        oecd_flows.batch_sha256,
        oecd_flows.loaded_at

    from oecd_flows
    left join geo_units as origins
        on oecd_flows.origin = origins.geo_unit
    left join geo_units as destinations
        on oecd_flows.destination = destinations.geo_unit

),

students_from_home as (

    -- UIS 26528 "Students from China" is reported by the host: the geo unit is the destination
    select
        source,
        indicator_id,
        '{{ home }}' as origin_iso3,
        country_iso3 as destination_iso3,
        year,
        value as students,
        magnitude,
        qualifier,
        data_version,
        batch_sha256,
        loaded_at

    from observations
    where publisher = 'uis'
        and indicator_id = '{{ var("students_from_china_indicator") }}'

),

stacked as (

    select * from oecd_mapped
    union all
    select * from students_from_home

),

between_countries as (

    -- aggregates ('W', 'OECD', 'WB: …') and unmapped codes map to no country: left out
    select * from stacked
    where origin_iso3 is not null
        and destination_iso3 is not null
        and origin_iso3 <> destination_iso3

),

ranked as (

    -- one flow per origin, destination and year: sources in var flow_source_precedence order
    -- (UIS before OECD), then a stable order for two indicators of one source
    select
        *,
        row_number() over (
            partition by origin_iso3, destination_iso3, year
            order by
                {{ precedence_rank('source', var('flow_source_precedence')) }},
                indicator_id,
                loaded_at desc,
                batch_sha256 desc
        ) as precedence_rank

    from between_countries

),

final as (

    select
        origin_iso3 || '-' || destination_iso3 || '-' || cast(year as varchar) as flow_id,
        origin_iso3,
        destination_iso3,
        year,
        students,
        nullif(concat_ws('|', magnitude, qualifier), '') as flags,
        source,
        indicator_id,
        data_version

    from ranked
    where precedence_rank = 1

)

select * from final
