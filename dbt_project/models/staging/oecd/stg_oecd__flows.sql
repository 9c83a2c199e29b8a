with

source as (

    select * from {{ source('oecd', 'flow_observation') }}
    where source in ({{ sql_list(var('oecd_sources')) }})

),

normalized as (

    select
        source,
        trim(indicator_id) as indicator_id,
        upper(trim(origin)) as origin,
        upper(trim(destination)) as destination,
        year,
        value,
        value_raw,
        nullif(upper(trim(magnitude)), '') as magnitude,
        nullif(upper(trim(qualifier)), '') as qualifier,
        data_version,
        batch_sha256,
        loaded_at

    from source

),

latest_batch as (

    -- a re-downloaded flow supersedes the older batch; the sha breaks ties deterministically
    select
        *,
        row_number() over (
            partition by source, indicator_id, origin, destination, year
            order by loaded_at desc, batch_sha256 desc
        ) as batch_rank

    from normalized

),

final as (

    select
        source,
        indicator_id,
        origin,
        destination,
        year,
        case
            when magnitude in ({{ sql_list(var('missing_magnitudes')) }}) then null
            else value
        end as value,
        value_raw,
        magnitude,
        qualifier,
        data_version,
        batch_sha256,
        loaded_at

    from latest_batch
    where batch_rank = 1

)

select * from final
