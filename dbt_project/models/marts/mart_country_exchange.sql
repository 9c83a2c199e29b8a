{%- set home = var('home_country') -%}

with

flows as (

    select * from {{ ref('fct_mobility_flow') }}

),

mentions as (

    select * from {{ ref('int_release_country_mentions') }}

),

to_home as (

    select
        origin_iso3 as country_iso3,
        year,
        -- one flow per origin, destination and year: the sum only keeps NULL as NULL
        sum(students) as students_to_china

    from flows
    where destination_iso3 = '{{ home }}'
    group by 1, 2

),

from_home as (

    select
        destination_iso3 as country_iso3,
        year,
        sum(students) as students_from_china

    from flows
    where origin_iso3 = '{{ home }}'
    group by 1, 2

),

mentions_per_year as (

    select
        country_iso3,
        cast(extract(year from published_date) as integer) as year,
        count(*) as releases_mentioning,
        -- a handful of releases to read, the same ones on every run
        array_to_string(list_slice(list_sort(list(release_id)), 1, 5), ',') as release_ids_sample

    from mentions
    where published_date is not null
        and country_iso3 <> '{{ home }}'
    group by 1, 2

),

keys as (

    select country_iso3, year from to_home
    union
    select country_iso3, year from from_home
    union
    select country_iso3, year from mentions_per_year

),

joined as (

    select
        keys.country_iso3,
        keys.year,
        to_home.students_to_china,
        from_home.students_from_china,
        coalesce(mentions_per_year.releases_mentioning, 0) as releases_mentioning,
        mentions_per_year.release_ids_sample

    from keys
    left join to_home
        on keys.country_iso3 = to_home.country_iso3
        and keys.year = to_home.year
    left join from_home
        on keys.country_iso3 = from_home.country_iso3
        and keys.year = from_home.year
    left join mentions_per_year
        on keys.country_iso3 = mentions_per_year.country_iso3
        and keys.year = mentions_per_year.year

),

final as (

    select
        cast(country_iso3 || '-' || cast(year as varchar) as varchar) as exchange_id,
        cast(country_iso3 as varchar) as country_iso3,
        cast(year as integer) as year,
        cast(students_to_china as double) as students_to_china,
        cast(students_from_china as double) as students_from_china,
        cast(releases_mentioning as integer) as releases_mentioning,
        cast(release_ids_sample as varchar) as release_ids_sample

    from joined
    -- a flow the source flags missing, with no release about the country, says nothing
    where students_to_china is not null
        or students_from_china is not null
        or releases_mentioning > 0

)

select * from final
