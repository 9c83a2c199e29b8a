{{
    config(
        materialized='incremental',
        unique_key='mobility_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_vanished('mobility_id', ref('int_mobility_pivoted')) }}",
    )
}}

with

mobility as (

    select * from {{ ref('int_mobility_pivoted') }}

),

final as (

    select
        cast(mobility_id as varchar) as mobility_id,
        cast(country_iso3 as varchar) as country_iso3,
        cast(year as integer) as year,
        cast(inbound_students as double) as inbound_students,
        cast(inbound_status as varchar) as inbound_status,
        cast(inbound_source as varchar) as inbound_source,
        cast(outbound_students as double) as outbound_students,
        cast(outbound_status as varchar) as outbound_status,
        cast(outbound_source as varchar) as outbound_source,
        cast(net_flow as double) as net_flow,
        cast(net_flow_status as varchar) as net_flow_status,
        cast(net_flow_source as varchar) as net_flow_source,
        cast(inbound_mobility_rate as double) as inbound_mobility_rate,
        cast(inbound_mobility_rate_status as varchar) as inbound_mobility_rate_status,
        cast(inbound_mobility_rate_source as varchar) as inbound_mobility_rate_source,
        cast(outbound_mobility_ratio as double) as outbound_mobility_ratio,
        cast(outbound_mobility_ratio_status as varchar) as outbound_mobility_ratio_status,
        cast(outbound_mobility_ratio_source as varchar) as outbound_mobility_ratio_source,
        cast(inbound_flags as varchar) as inbound_flags,
        cast(outbound_flags as varchar) as outbound_flags,
        cast(net_flow_flags as varchar) as net_flow_flags,
        cast(source as varchar) as source,
        cast(data_version as varchar) as data_version

    from mobility

)

select * from final
{% if is_incremental() %}
where {{ new_or_changed('mobility_id', 'final') }}
{% endif %}
