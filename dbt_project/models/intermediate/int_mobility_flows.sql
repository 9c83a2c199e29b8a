{{
    config(
        materialized='incremental',
        unique_key='flow_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook="delete from {{ this }} where reference_key is distinct from {{ statistics_reference_key() }}",
        tags=['statistics_incremental'],
    )
}}

{#- Incremental: only the flows (origin, destination, year) with an input loaded after the stored
    ones are ranked again, from every input of those flows (see statistics_watermark). -#}
{%- set home = var('home_country') -%}

with

flow_rows as (

    -- every staged bilateral source, one shape: OECD SDMX flows and the UIS flow files
    select * from {{ ref('stg_oecd__flows') }}
    union all
    select * from {{ ref('stg_uis__flows') }}

),

observations as (

    select * from {{ ref('int_observations_unified') }}

),

geo_units as (

    select * from {{ ref('int_geo_units_mapped') }}

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

{% if is_incremental() %}
watermark as (

    select {{ statistics_watermark() }} as loaded_at

),

new_flow_rows as (

    -- read on their own, not from flow_rows: a CTE read twice is materialised, every row of it
    select * from {{ ref('stg_oecd__flows') }}
    where loaded_at > (select loaded_at from watermark)
    union all
    select * from {{ ref('stg_uis__flows') }}
    where loaded_at > (select loaded_at from watermark)

),

new_flows_mapped as (

    {{ map_flow_countries('new_flow_rows', 'geo_units') }}

),

changed_flows as (

    -- the flows with an input loaded since the stored ones were computed
    select origin_iso3, destination_iso3, year
    from new_flows_mapped

    union

    select origin_iso3, destination_iso3, year
    from students_from_home
    where loaded_at > (select loaded_at from watermark)

),

changed_codes as (

    -- every code pair that names one of those flows (a country can go by several codes), so the
    -- flow rows to rank again are found by their own columns, before any mapping
    select
        origins.geo_unit as origin,
        destinations.geo_unit as destination,
        changed_flows.year

    from changed_flows
    inner join geo_units as origins
        on changed_flows.origin_iso3 = origins.country_iso3
    inner join geo_units as destinations
        on changed_flows.destination_iso3 = destinations.country_iso3

),

flows_to_rank as (

    select * from flow_rows
    semi join changed_codes using (origin, destination, year)

),
{% else %}
flows_to_rank as (

    select * from flow_rows

),
{% endif %}

flows_mapped as (

    {{ map_flow_countries('flows_to_rank', 'geo_units') }}

),

stacked as (

    select * from flows_mapped
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
                indicator_id asc,
                loaded_at desc,
                batch_sha256 desc
        ) as precedence_rank

    from between_countries
    {%- if is_incremental() %}
    semi join changed_flows using (origin_iso3, destination_iso3, year)
    {%- endif %}

),

final as (

    select
        origin_iso3 || '-' || destination_iso3 || '-' || cast(year as varchar) as flow_id,
        origin_iso3,
        destination_iso3,
        year,
        students,
        case
            when students is null then null
            when list_has_any(
                    string_split(coalesce(qualifier, ''), '|'),
                    {{ var('estimate_qualifiers') }}
                ) then 'estimate'
            else 'published'
        end as students_status,
        nullif(concat_ws('|', magnitude, qualifier), '') as flags,
        source,
        indicator_id,
        -- a file that states no data version is identified by its own bytes
        coalesce(data_version, 'sha256:' || left(batch_sha256, 12)) as data_version,
        loaded_at,
        greatest(
            (select max(oecd_flows.loaded_at) from {{ ref('stg_oecd__flows') }} as oecd_flows),
            (select max(uis_flows.loaded_at) from {{ ref('stg_uis__flows') }} as uis_flows),
            (select max(students_from_home.loaded_at) from students_from_home)
        ) as inputs_loaded_through,
        {{ statistics_reference_key() }} as reference_key

    from ranked
    where precedence_rank = 1

)

select * from final
