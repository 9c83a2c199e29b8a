with

source as (

    select * from {{ source('raw', 'release_version') }}

),

renamed as (

    select
        source,
        url,
        content_sha256,
        -- 'zh-CN' and 'zh' are the same language for analysts
        split_part(lower(trim(language)), '-', 1) as language,
        trim(title) as title,
        -- for spotting reposts: the same title set with different spacing is the same title
        lower(regexp_replace(title, '[\s\x{3000}\x{00a0}]+', '', 'g')) as title_key,
        published_at,
        -- the calendar day on the issuer's clock, not on the machine running dbt
        cast(timezone('{{ var("release_timezone") }}', published_at) as date) as published_date,
        body_text,
        cast(coalesce(length(body_text), 0) as integer) as body_chars,
        nullif(trim(issuing_body), '') as issuing_body,
        nullif(trim(document_number), '') as document_number,
        nullif(trim(content_source), '') as content_source,
        nullif(trim(listing_column), '') as listing_column,
        attachments,
        first_seen_at

    from source

)

select * from renamed
