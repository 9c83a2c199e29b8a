with

source as (

    select * from {{ source('raw', 'geo_unit_definition') }}
    where source in ({{ sql_list(var('uis_sources')) }})

),

one_per_geo_unit as (

    -- the API and a CSV label file may both describe a unit; either name will do, pick stably
    select
        *,
        row_number() over (
            partition by geo_unit
            order by {{ precedence_rank('source', var('uis_sources')) }}, batch_sha256 desc
        ) as source_rank

    from source

),

typed as (

    select
        trim(geo_unit) as geo_unit,
        nullif(trim(name), '') as geo_unit_name,
        upper(nullif(trim(geo_unit_type), '')) as geo_unit_type,
        -- regional ids read 'SDG: Europe', 'ECA: Sahel (UNSDCode:98124)': the group precedes ':'
        case
            when strpos(geo_unit, ':') > 0 then trim(split_part(geo_unit, ':', 1))
        end as region_group,
        source,
        batch_sha256

    from one_per_geo_unit
    where source_rank = 1

),

final as (

    select
        geo_unit,
        geo_unit_name,
        geo_unit_type,
        region_group,
        -- a country is a NATIONAL unit with an ISO3 id (a missing type is trusted to the id)
        (
            regexp_full_match(geo_unit, '[A-Z]{3}')
            and coalesce(geo_unit_type, 'NATIONAL') = 'NATIONAL'
        ) as is_national,
        case
            when regexp_full_match(geo_unit, '[A-Z]{3}')
                and coalesce(geo_unit_type, 'NATIONAL') = 'NATIONAL' then geo_unit
        end as country_iso3,
        source,
        batch_sha256

    from typed

)

select * from final
