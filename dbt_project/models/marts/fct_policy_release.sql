{{
    config(
        materialized='incremental',
        unique_key='release_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_vanished('release_id', ref('int_releases_deduplicated')) }}",
    )
}}

with

releases as (

    select * from {{ ref('int_releases_deduplicated') }}

),

events as (

    select * from {{ ref('int_release_events') }}

),

final as (

    select
        cast(releases.release_id as varchar) as release_id,
        cast(events.event_id as varchar) as event_id,
        cast(events.event_release_count as integer) as event_release_count,
        cast(releases.source as varchar) as source,
        cast(releases.url as varchar) as url,
        cast(releases.language as varchar) as language,
        cast(releases.title as varchar) as title,
        cast(releases.published_at as timestamptz) as published_at,
        cast(releases.published_date as date) as published_date,
        cast(releases.issuing_body as varchar) as issuing_body,
        cast(releases.document_number as varchar) as document_number,
        cast(releases.listing_column as varchar) as listing_column,
        cast(releases.body_text as varchar) as body_text,
        cast(releases.body_chars as integer) as body_chars,
        cast(releases.content_sha256 as varchar) as content_sha256,
        cast(releases.version_count as integer) as version_count,
        cast(releases.first_seen_at as timestamptz) as first_seen_at

    from releases
    inner join events
        on releases.release_id = events.release_id

)

select * from final
{% if is_incremental() %}
where {{ new_or_changed('release_id', 'final') }}
{% endif %}
