{{
    config(
        materialized='incremental',
        unique_key='release_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_vanished('release_id', ref('int_releases_deduplicated')) }}",
    )
}}

{#- The country-name matching behind int_release_country_mentions, kept from run to run: an
    incremental run matches only the releases whose text (or the country names) changed since the
    stored result. A release that mentions no country has one row with a NULL country, so the
    next run knows it was already looked at. -#}

with

releases as (

    select * from {{ ref('int_releases_deduplicated') }}

),

countries as (

    select * from {{ ref('countries') }}

),

country_aliases as (

    select * from {{ ref('country_aliases') }}

),

uis_geo_units as (

    select * from {{ ref('stg_uis__geo_units') }}

),

terms as (

    -- the names dim_country knows a country by, plus common short forms ('Vietnam', '阿联酋')
    select country_iso3, name_en as term, 'en' as language from countries
    union
    select country_iso3, name_zh as term, 'zh' as language from countries
    union
    select country_iso3, alias, language from country_aliases
    where language in ('en', 'zh')
    union
    select country_iso3, geo_unit_name as term, 'en' as language from uis_geo_units
    where is_national

),

usable_terms as (

    select * from terms
    where term is not null and trim(term) <> '' and country_iso3 is not null

),

shadows as (

    -- A name inside another country's longer name is not a mention of it: 印度 (India) in
    -- 印度尼西亚 (Indonesia), 'Guinea' in 'Papua New Guinea', 'Sudan' in 'South Sudan'. The longer
    -- names are blanked out before the shorter one is looked for.
    select
        shorter.country_iso3,
        shorter.term,
        shorter.language,
        string_agg(
            {{ regex_escape('longer.term') }}, '|'
            order by length(longer.term) desc, longer.term
        ) as shadow_pattern

    from usable_terms as shorter
    inner join usable_terms as longer
        on shorter.language = longer.language
        and shorter.country_iso3 <> longer.country_iso3
        and length(longer.term) > length(shorter.term)
        and strpos(lower(longer.term), lower(shorter.term)) > 0
    group by shorter.country_iso3, shorter.term, shorter.language

),

patterns as (

    select
        usable_terms.country_iso3,
        usable_terms.term,
        usable_terms.language,
        lower(usable_terms.term) as term_lower,
        shadows.shadow_pattern,
        -- English names match whole words in any case; Chinese names are found as substrings
        case
            when usable_terms.language = 'en' then {{ english_term_pattern('usable_terms.term') }}
        end as term_pattern

    from usable_terms
    left join shadows
        on usable_terms.country_iso3 = shadows.country_iso3
        and usable_terms.term = shadows.term
        and usable_terms.language = shadows.language

),

terms_version as (

    -- changed names (seeds, UIS definitions) make every stored match stale
    select
        md5(coalesce(string_agg(
            country_iso3 || chr(31) || term || chr(31) || language || chr(31) || coalesce(shadow_pattern, ''),
            chr(30)
            order by country_iso3, term, language
        ), '')) as terms_key

    from patterns

),

texts as (

    select
        releases.release_id,
        releases.title || chr(10) || coalesce(releases.body_text, '') as text,
        md5(releases.title || chr(10) || coalesce(releases.body_text, '')) as text_key,
        terms_version.terms_key

    from releases
    cross join terms_version

),

-- read twice (the matching, and the final list of releases looked at): not materialised, which
-- would hold every text to match in memory at once (out of memory at 100x, 2 million releases)
to_match as not materialized (

    select
        *,
        lower(text) as text_lower

    from texts
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as stored
        where stored.release_id = texts.release_id
            and stored.text_key = texts.text_key
            and stored.terms_key = texts.terms_key
    )
    {%- endif %}

),

candidates as (

    -- a cheap substring test first: the regular expressions only run on likely pairs
    select
        to_match.release_id,
        patterns.country_iso3,
        patterns.term,
        patterns.language,
        patterns.term_pattern,
        case
            when patterns.shadow_pattern is null then to_match.text
            else regexp_replace(to_match.text, '(?i)' || patterns.shadow_pattern, ' ', 'g')
        end as text_unshadowed

    from to_match
    inner join patterns
        on strpos(to_match.text_lower, patterns.term_lower) > 0

),

confirmed as (

    select * from candidates
    where case
            when language = 'en' then regexp_matches(text_unshadowed, term_pattern)
            else strpos(text_unshadowed, term) > 0
        end

),

-- The names a release matched, per country, as one number (a bit per name) before they are
-- spelled out: DuckDB spills a fixed-size aggregate such as bit_or to disk, while a string_agg
-- with ORDER BY over millions of (release, country) groups has to stay in memory (out of memory
-- at 100x under a 1 GB cap). Only the few distinct sets of names found are spelled out.
term_bits as (

    select
        country_iso3,
        term,
        case
            when term_rank <= 64 then cast(1 as ubigint) << cast(term_rank - 1 as ubigint)
            else error('int_release_country_matches: more than 64 names for ' || country_iso3)
        end as term_bit

    from (
        select
            country_iso3,
            term,
            row_number() over (partition by country_iso3 order by term) as term_rank
        from (select distinct country_iso3, term from patterns) as names
    ) as ranked

),

mentioned as (

    select
        confirmed.release_id,
        confirmed.country_iso3,
        bit_or(term_bits.term_bit) as term_set

    from confirmed
    inner join term_bits
        on confirmed.country_iso3 = term_bits.country_iso3
        and confirmed.term = term_bits.term
    group by confirmed.release_id, confirmed.country_iso3

),

term_sets as (

    select
        sets.country_iso3,
        sets.term_set,
        string_agg(term_bits.term, '; ' order by term_bits.term) as matched_terms

    from (select distinct country_iso3, term_set from mentioned) as sets
    inner join term_bits
        on sets.country_iso3 = term_bits.country_iso3
        and (sets.term_set & term_bits.term_bit) <> 0
    group by sets.country_iso3, sets.term_set

),

mentions as (

    select
        mentioned.release_id,
        mentioned.country_iso3,
        term_sets.matched_terms

    from mentioned
    inner join term_sets
        on mentioned.country_iso3 = term_sets.country_iso3
        and mentioned.term_set = term_sets.term_set

),

final as (

    select
        to_match.release_id,
        mentions.country_iso3,
        mentions.matched_terms,
        to_match.text_key,
        to_match.terms_key

    from to_match
    left join mentions
        on to_match.release_id = mentions.release_id

)

select * from final
