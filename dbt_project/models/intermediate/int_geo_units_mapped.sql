with

uis_observations as (

    select * from {{ ref('stg_uis__observations') }}

),

worldbank_observations as (

    select * from {{ ref('stg_worldbank__observations') }}

),

owid_observations as (

    select * from {{ ref('stg_owid__observations') }}

),

oecd_flows as (

    select * from {{ ref('stg_oecd__flows') }}

),

uis_flows as (

    select * from {{ ref('stg_uis__flows') }}

),

uis_geo_units as (

    select * from {{ ref('stg_uis__geo_units') }}

),

countries as (

    select * from {{ ref('countries') }}

),

country_aliases as (

    select * from {{ ref('country_aliases') }}

),

geo_aggregates as (

    select * from {{ ref('geo_aggregates') }}

),

seen as (

    select geo_unit from uis_observations
    union
    select geo_unit from worldbank_observations
    union
    select geo_unit from owid_observations
    union
    select origin from oecd_flows
    union
    select destination from oecd_flows
    union
    select origin from uis_flows
    union
    select destination from uis_flows

),

country_names as (

    -- every name (or alias code) a country goes by, for sources that give names, not codes
    select lower(name_en) as name_key, country_iso3, 1 as name_rank from countries
    union all
    select lower(name_zh) as name_key, country_iso3, 2 as name_rank from countries
    union all
    select lower(alias) as name_key, country_iso3, 3 as name_rank from country_aliases
    union all
    select lower(geo_unit_name) as name_key, country_iso3, 4 as name_rank from uis_geo_units
    where is_national

),

one_country_per_name as (

    select
        name_key,
        country_iso3,
        row_number() over (partition by name_key order by name_rank, country_iso3) as name_choice

    from country_names
    where name_key is not null and country_iso3 is not null

),

classified as (

    -- First rule that applies wins. World Bank aggregates come first because their codes look
    -- like ISO3 (EAS, HIC, WLD); UIS says itself which of its units are national; a known name
    -- or alias comes before the ISO3 pattern so that an alias such as 'UAE' is not taken for one.
    select
        seen.geo_unit,
        case
            when geo_aggregates.geo_unit is not null then 'aggregate_list'
            when uis_geo_units.geo_unit is not null then 'uis_definition'
            when one_country_per_name.country_iso3 is not null then 'name'
            when regexp_full_match(seen.geo_unit, '[A-Z]{3}') then 'iso3_code'
            -- 'WB: East Asia & Pacific', 'Africa: unknown countries', OWID_WRL, OECD 'W', 'EU27_2020'
            when strpos(seen.geo_unit, ':') > 0
                or starts_with(seen.geo_unit, 'OWID_')
                or regexp_full_match(seen.geo_unit, '[A-Z0-9_]+') then 'aggregate_code'
            else 'unmapped'
        end as mapped_by,
        case
            when geo_aggregates.geo_unit is not null then null
            when uis_geo_units.geo_unit is not null then uis_geo_units.country_iso3
            when one_country_per_name.country_iso3 is not null then one_country_per_name.country_iso3
            when regexp_full_match(seen.geo_unit, '[A-Z]{3}') then seen.geo_unit
        end as country_iso3,
        uis_geo_units.is_national as uis_is_national

    from seen
    left join geo_aggregates
        on seen.geo_unit = geo_aggregates.geo_unit
    left join uis_geo_units
        on seen.geo_unit = uis_geo_units.geo_unit
    left join one_country_per_name
        on lower(trim(seen.geo_unit)) = one_country_per_name.name_key
        and one_country_per_name.name_choice = 1

),

kinds as (

    select
        geo_unit,
        country_iso3,
        case
            when country_iso3 is not null then 'country'
            when mapped_by in ('aggregate_list', 'aggregate_code') then 'regional'
            when mapped_by = 'uis_definition' and not uis_is_national then 'regional'
            else 'unmapped'
        end as geo_unit_kind,
        mapped_by

    from classified

),

final as (

    select
        geo_unit,
        country_iso3,
        geo_unit_kind = 'regional' as is_regional,
        geo_unit_kind,
        mapped_by

    from kinds

)

select * from final
