with

countries as (

    select * from {{ ref('countries') }}

),

uis_geo_units as (

    select * from {{ ref('stg_uis__geo_units') }}
    where is_national

),

geo_units as (

    select * from {{ ref('int_geo_units_mapped') }}
    where country_iso3 is not null

),

all_codes as (

    -- every country a fact can point at: the curated seed, UIS's national units, and any
    -- country code a statistics source used before its definition was fetched
    select country_iso3 from countries
    union
    select country_iso3 from uis_geo_units
    union
    select country_iso3 from geo_units

),

final as (

    select
        cast(all_codes.country_iso3 as varchar) as country_iso3,
        cast(coalesce(countries.name_en, uis_geo_units.geo_unit_name) as varchar) as name_en,
        cast(countries.name_zh as varchar) as name_zh,
        cast(countries.region as varchar) as region,
        -- the seed lists every ASEAN member, so a country missing from it is not one
        cast(coalesce(countries.is_asean, false) as boolean) as is_asean,
        cast(countries.asean_member_since as integer) as asean_member_since,
        cast(countries.belt_and_road_status as varchar) as belt_and_road_status,
        cast(countries.belt_and_road_source as varchar) as belt_and_road_source

    from all_codes
    left join countries
        on all_codes.country_iso3 = countries.country_iso3
    left join uis_geo_units
        on all_codes.country_iso3 = uis_geo_units.country_iso3

)

select * from final
