with

partners as (

    select * from {{ ref('int_cooperative_partners_resolved') }}

),

final as (

    select
        cast(record_version_id || '-' || cast(partner_index as varchar) as varchar) as programme_partner_id,
        cast(record_version_id as varchar) as record_version_id,
        cast(partner_index as integer) as partner_index,
        cast(partner_name as varchar) as partner_name,
        cast(country_iso3 as varchar) as country_iso3,
        cast(resolved_by as varchar) as resolved_by

    from partners
    where quarantine_reason is null

)

select * from final
