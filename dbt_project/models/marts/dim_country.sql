with

countries as (

    select * from {{ ref('countries') }}

),

geo_units as (

    select * from {{ ref('stg_uis__geo_units') }}
    where is_national

),

mobility as (

    select * from {{ ref('int_mobility_pivoted') }}

),

all_codes as (

    -- every country a fact can point at: the curated seed, UIS's national units, and any ISO3
    -- that appears in the mobility data before its definition was fetched
    select country_iso3 from countries
    union
    select country_iso3 from geo_units
    union
    select country_iso3 from mobility

),

final as (

    select
        cast(all_codes.country_iso3 as varchar) as country_iso3,
        cast(coalesce(countries.name_en, geo_units.geo_unit_name) as varchar) as name_en,
        cast(countries.name_zh as varchar) as name_zh,
        cast(countries.region as varchar) as region,
        -- the seed lists every ASEAN member, so a country missing from it is not one
        cast(coalesce(countries.is_asean, false) as boolean) as is_asean,
        cast(countries.belt_and_road_status as varchar) as belt_and_road_status

    from all_codes
    left join countries
        on all_codes.country_iso3 = countries.country_iso3
    left join geo_units
        on all_codes.country_iso3 = geo_units.country_iso3

)

select * from final
