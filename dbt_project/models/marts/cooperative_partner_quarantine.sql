with

partners as (

    select * from {{ ref('int_cooperative_partners_resolved') }}

),

records as (

    select * from {{ ref('stg_cfcrs__records') }}

),

final as (

    select
        cast(partners.record_version_id || '-' || cast(partners.partner_index as varchar) as varchar)
            as programme_partner_id,
        cast(partners.record_version_id as varchar) as record_version_id,
        cast(records.url as varchar) as url,
        cast(records.name as varchar) as record_name,
        cast(records.record_kind as varchar) as record_kind,
        cast(partners.partner_index as integer) as partner_index,
        cast(partners.partner_name as varchar) as partner_name,
        cast(partners.quarantine_reason as varchar) as reason,
        cast(partners.candidate_countries as varchar) as candidate_countries,
        cast(records.first_seen_at as timestamptz) as first_seen_at

    from partners
    inner join records
        on partners.record_version_id = records.record_version_id
    where partners.quarantine_reason is not null

)

select * from final
