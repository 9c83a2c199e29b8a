with

records as (

    select * from {{ ref('stg_cfcrs__records') }}

),

partners as (

    select * from {{ ref('int_cooperative_partners_resolved') }}

),

fetches as (

    -- a 200 or a 304 for the page: the register still published the entry as it was. Pages are
    -- matched by path within the source: a mirror or the demo's replay serves the register's paths
    -- under another host than the register's own URL the source records.
    select
        source,
        regexp_replace(url, '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*', '') as page_path,
        status,
        fetched_at

    from {{ source('raw', 'fetch_log') }}
    where status in (200, 304)

),

versions as (

    select
        *,
        regexp_replace(url, '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*', '') as page_path,
        regexp_replace(list_url, '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*', '') as list_path,
        row_number() over (partition by url order by first_seen_at, content_sha256) as version_number,
        lead(first_seen_at) over (partition by url order by first_seen_at, content_sha256) as superseded_at

    from records

),

page_seen as (

    -- a version was last seen by the newest fetch of its page before the next version appeared
    select
        versions.record_version_id,
        max(fetches.fetched_at) as last_fetched_at

    from versions
    inner join fetches
        on versions.source = fetches.source
        and versions.page_path = fetches.page_path
        and versions.first_seen_at <= fetches.fetched_at
        and (versions.superseded_at is null or versions.superseded_at > fetches.fetched_at)
    group by versions.record_version_id

),

list_seen as (

    -- the source fetches a known entry's page again only when its list changed: a 304 for the list
    -- it was read from says the list, this entry on it, is as it was (a 200 may have dropped it)
    select
        versions.record_version_id,
        max(fetches.fetched_at) as last_fetched_at

    from versions
    inner join fetches
        on versions.source = fetches.source
        and versions.list_path = fetches.page_path
        and versions.first_seen_at <= fetches.fetched_at
        and (versions.superseded_at is null or versions.superseded_at > fetches.fetched_at)
    where fetches.status = 304
    group by versions.record_version_id

),

partner_countries as (

    select
        record_version_id,
        count(*) filter (where partner_name is not null) as partner_count,
        count(*) filter (where quarantine_reason is not null) as quarantined_partners,
        string_agg(partner_name, '; ' order by partner_index) as foreign_partners,
        string_agg(distinct country_iso3, ',' order by country_iso3) as countries,
        count(distinct country_iso3) as country_count,
        min(country_iso3) as only_country

    from partners
    group by record_version_id

),

final as (

    select
        cast(versions.record_version_id as varchar) as record_version_id,
        cast(versions.url as varchar) as url,
        cast(versions.content_sha256 as varchar) as content_sha256,
        cast(versions.version_number as integer) as version_number,
        cast(versions.superseded_at is null as boolean) as is_current_version,
        cast(versions.record_kind as varchar) as record_kind,
        cast(versions.level as varchar) as level,
        cast(versions.province as varchar) as province,
        cast(versions.name as varchar) as name,
        cast(versions.chinese_partner as varchar) as chinese_partner,
        cast(partner_countries.foreign_partners as varchar) as foreign_partners,
        cast(coalesce(partner_countries.partner_count, 0) as integer) as foreign_partner_count,
        -- never a partial answer: a version with any partner in quarantine has no country here
        cast(
            case
                when partner_countries.quarantined_partners = 0 and partner_countries.country_count = 1
                    then partner_countries.only_country
            end as varchar
        ) as partner_country_iso3,
        cast(
            case when partner_countries.quarantined_partners = 0 then partner_countries.countries end as varchar
        ) as partner_countries,
        cast(
            case when partner_countries.quarantined_partners = 0 then 'resolved' else 'quarantined' end as varchar
        ) as partner_country_status,
        cast(versions.approval_number as varchar) as approval_number,
        cast(versions.approval_date as date) as approval_date,
        cast(extract(year from versions.approval_date) as integer) as approval_year,
        cast(versions.ended_date as date) as ended_date,
        cast(case when versions.list_status = 'ended' then 'ended' else 'active' end as varchar) as status,
        cast(versions.list_url as varchar) as list_url,
        cast(versions.source as varchar) as source,
        cast(versions.first_seen_at as timestamptz) as first_seen_at,
        cast(
            greatest(versions.first_seen_at, page_seen.last_fetched_at, list_seen.last_fetched_at) as timestamptz
        ) as last_seen_at

    from versions
    left join partner_countries
        on versions.record_version_id = partner_countries.record_version_id
    left join page_seen
        on versions.record_version_id = page_seen.record_version_id
    left join list_seen
        on versions.record_version_id = list_seen.record_version_id

)

select * from final
