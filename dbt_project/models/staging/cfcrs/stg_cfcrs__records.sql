with

source as (

    select * from {{ source('raw', 'cooperative_record') }}

),

renamed as (

    select
        md5(url || '|' || content_sha256) as record_version_id,
        source,
        url,
        content_sha256,
        lower(trim(record_kind)) as record_kind,
        lower(trim(level)) as level,
        lower(trim(list_status)) as list_status,
        nullif({{ normalised_name('province') }}, '') as province,
        {{ normalised_name('name') }} as name,
        nullif({{ normalised_name('chinese_partner') }}, '') as chinese_partner,
        -- the names as published, in order; a blank entry names no partner
        list_filter(
            list_transform(
                cast(foreign_partners as varchar[]),
                partner -> {{ normalised_name('partner') }}
            ),
            partner -> coalesce(partner, '') <> ''
        ) as foreign_partners,
        -- licence and approval numbers are printed in either case and sometimes spaced
        nullif(upper(replace({{ normalised_name('approval_number') }}, ' ', '')), '') as approval_number,
        approval_date,
        ended_date,
        list_url,
        raw_sha256,
        first_seen_at

    from source

)

select * from renamed
