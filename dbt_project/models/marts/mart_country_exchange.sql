{%- set home = var('home_country') -%}

with

moe_statistics as (

    select * from {{ ref('fct_moe_student_statistic') }}
    where measure = 'international_students_in_china'
        and breakdown = 'country'
        and unit = 'persons'
        and country_iso3 is not null

),

flows as (

    select * from {{ ref('fct_mobility_flow') }}

),

mentions as (

    select * from {{ ref('int_release_country_mentions') }}

),

releases as (

    select * from {{ ref('fct_policy_release') }}

),

cooperative as (

    select * from {{ ref('fct_cooperative_programme') }}

),

cooperative_partners as (

    select * from {{ ref('bridge_cooperative_programme_partner') }}

),

register as (

    -- without the register loaded a count is unknown (NULL), not 0
    select count(*) > 0 as is_loaded
    from cooperative

),

coverage as (

    select {{ release_coverage_start_year('published_date') }} as start_year
    from releases

),

to_home_ranked as (

    -- two written forms of one country in one year (孟加拉, 孟加拉国) would be two rows: the same
    -- rule as fct_moe_student_statistic picks one
    select
        country_iso3,
        period_year as year,
        value,
        source,
        url,
        qualifier,
        row_number() over (
            partition by country_iso3, period_year
            order by
                {{ precedence_rank('source', var('moe_statistics_source_precedence')) }},
                -- a number stated exactly before a rounded "突破44万" / "about"
                case when qualifier = 'exact' then 0 else 1 end,
                published_date asc nulls last,
                release_id asc
        ) as statement_rank

    from moe_statistics
    where country_iso3 <> '{{ home }}'

),

to_home as (

    select * from to_home_ranked
    where statement_rank = 1

),

from_home as (

    -- fct_mobility_flow holds one flow per origin, destination and year
    select
        destination_iso3 as country_iso3,
        year,
        students as students_from_china,
        students_status as students_from_china_status,
        source as students_from_china_source,
        data_version as students_from_china_data_version

    from flows
    where origin_iso3 = '{{ home }}'
        and destination_iso3 <> '{{ home }}'

),

mentions_per_year as (

    select
        mentions.country_iso3,
        cast(extract(year from mentions.published_date) as integer) as year,
        count(distinct mentions.release_id) as releases_mentioning,
        count(distinct coalesce(releases.event_id, mentions.release_id)) as events_mentioning,
        -- a handful of releases to read, the same ones on every run
        array_to_string(list_slice(list_sort(list(distinct mentions.release_id)), 1, 5), ',')
            as release_ids_sample

    from mentions
    left join releases
        on mentions.release_id = releases.release_id
    where mentions.published_date is not null
        and mentions.country_iso3 <> '{{ home }}'
    group by mentions.country_iso3, cast(extract(year from mentions.published_date) as integer)

),

approvals_per_year as (

    -- entries approved that year with a partner in the country, each counted once (its current
    -- version; one with partners in two countries counts for both); an entry whose partner is in
    -- quarantine counts for no country
    select
        cooperative_partners.country_iso3,
        cooperative.approval_year as year,
        count(distinct cooperative.url) filter (where cooperative.record_kind = 'institution')
            as cooperative_institutions_approved,
        count(distinct cooperative.url) filter (where cooperative.record_kind = 'programme')
            as cooperative_programmes_approved

    from cooperative
    inner join cooperative_partners
        on cooperative.record_version_id = cooperative_partners.record_version_id
    where cooperative.is_current_version
        and cooperative.partner_country_status = 'resolved'
        and cooperative.approval_year is not null
        and cooperative_partners.country_iso3 <> '{{ home }}'
    group by cooperative_partners.country_iso3, cooperative.approval_year

),

keys as (

    select country_iso3, year from to_home
    union
    select country_iso3, year from from_home
    union
    select country_iso3, year from mentions_per_year
    union
    select country_iso3, year from approvals_per_year

),

joined as (

    select
        keys.country_iso3,
        keys.year,
        to_home.value as students_to_china,
        case when to_home.value is not null then 'published' end as students_to_china_status,
        to_home.source as students_to_china_source,
        to_home.url as students_to_china_url,
        from_home.students_from_china,
        from_home.students_from_china_status,
        from_home.students_from_china_source,
        from_home.students_from_china_data_version,
        -- a year before the release sources' coverage was not collected: NULL, not 0
        case
            when keys.year >= coverage.start_year
                then coalesce(mentions_per_year.releases_mentioning, 0)
        end as releases_mentioning,
        case
            when keys.year >= coverage.start_year
                then coalesce(mentions_per_year.events_mentioning, 0)
        end as events_mentioning,
        mentions_per_year.release_ids_sample,
        coverage.start_year as releases_coverage_start_year,
        case
            when register.is_loaded then coalesce(approvals_per_year.cooperative_institutions_approved, 0)
        end as cooperative_institutions_approved,
        case
            when register.is_loaded then coalesce(approvals_per_year.cooperative_programmes_approved, 0)
        end as cooperative_programmes_approved

    from keys
    cross join coverage
    cross join register
    left join to_home
        on keys.country_iso3 = to_home.country_iso3
        and keys.year = to_home.year
    left join from_home
        on keys.country_iso3 = from_home.country_iso3
        and keys.year = from_home.year
    left join mentions_per_year
        on keys.country_iso3 = mentions_per_year.country_iso3
        and keys.year = mentions_per_year.year
    left join approvals_per_year
        on keys.country_iso3 = approvals_per_year.country_iso3
        and keys.year = approvals_per_year.year

),

final as (

    select
        cast(country_iso3 || '-' || cast(year as varchar) as varchar) as exchange_id,
        cast(country_iso3 as varchar) as country_iso3,
        cast(year as integer) as year,
        cast(students_to_china as double) as students_to_china,
        cast(students_to_china_status as varchar) as students_to_china_status,
        cast(students_to_china_source as varchar) as students_to_china_source,
        cast(students_to_china_url as varchar) as students_to_china_url,
        cast(students_from_china as double) as students_from_china,
        cast(students_from_china_status as varchar) as students_from_china_status,
        cast(students_from_china_source as varchar) as students_from_china_source,
        cast(students_from_china_data_version as varchar) as students_from_china_data_version,
        cast(releases_mentioning as integer) as releases_mentioning,
        cast(events_mentioning as integer) as events_mentioning,
        cast(release_ids_sample as varchar) as release_ids_sample,
        cast(releases_coverage_start_year as integer) as releases_coverage_start_year,
        cast(cooperative_institutions_approved as integer) as cooperative_institutions_approved,
        cast(cooperative_programmes_approved as integer) as cooperative_programmes_approved

    from joined
    -- a flow the source flags missing, with no release about the country, says nothing
    where students_to_china is not null
        or students_from_china is not null
        or releases_mentioning > 0
        or cooperative_institutions_approved > 0
        or cooperative_programmes_approved > 0

)

select * from final
