{{
    config(
        materialized='incremental',
        unique_key='flow_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_vanished('flow_id', ref('int_mobility_flows')) }}",
    )
}}

with

flows as (

    select * from {{ ref('int_mobility_flows') }}

),

final as (

    select
        cast(flow_id as varchar) as flow_id,
        cast(origin_iso3 as varchar) as origin_iso3,
        cast(destination_iso3 as varchar) as destination_iso3,
        cast(year as integer) as year,
        cast(students as double) as students,
        cast(students_status as varchar) as students_status,
        cast(flags as varchar) as flags,
        cast(source as varchar) as source,
        cast(indicator_id as varchar) as indicator_id,
        cast(data_version as varchar) as data_version

    from flows

)

select * from final
{% if is_incremental() %}
where {{ new_or_changed('flow_id', 'final') }}
{% endif %}
