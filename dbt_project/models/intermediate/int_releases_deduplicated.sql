with

versions as (

    select * from {{ ref('stg_raw__release_versions') }}

),

versions_ranked as (

    select
        *,
        row_number() over (
            partition by url
            order by first_seen_at desc, content_sha256 desc
        ) as version_rank,
        count(*) over (partition by url) as url_version_count,
        min(first_seen_at) over (partition by url) as url_first_seen_at

    from versions

),

latest_per_url as (

    select * from versions_ranked
    where version_rank = 1

),

reposts_ranked as (

    -- The same release listed in two columns gets two URLs. Same source, same title and same
    -- publication date means one release: keep the URL seen first (URL order breaks ties).
    -- Without a date there is no evidence, so such releases are never merged.
    select
        *,
        row_number() over (
            partition by
                source,
                title_key,
                coalesce(cast(published_date as varchar), url)
            order by url_first_seen_at, url
        ) as repost_rank,
        min(url_first_seen_at) over (
            partition by
                source,
                title_key,
                coalesce(cast(published_date as varchar), url)
        ) as release_first_seen_at

    from latest_per_url

),

final as (

    select
        md5(url) as release_id,
        source,
        url,
        language,
        title,
        title_key,
        published_at,
        published_date,
        issuing_body,
        document_number,
        listing_column,
        body_text,
        body_chars,
        content_sha256,
        cast(url_version_count as integer) as version_count,
        release_first_seen_at as first_seen_at

    from reposts_ranked
    where repost_rank = 1

)

select * from final
