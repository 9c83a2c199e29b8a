{{
    config(
        materialized='incremental',
        unique_key='release_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_vanished('release_id', ref('int_releases_deduplicated')) }}",
    )
}}

{#- The keyword matching behind bridge_release_theme, kept from run to run: an incremental run
    matches only the releases whose text (or the themes seed) changed since the stored result.
    Every matched release has one row per theme; a release that matches nothing has one row with
    a NULL theme, so the next run knows it was already looked at. -#}

with

releases as (

    select * from {{ ref('int_releases_deduplicated') }}

),

themes as (

    select * from {{ ref('themes') }}

),

keywords as (

    select
        theme_id,
        keyword,
        language,
        lower(keyword) as keyword_lower,
        -- English keywords match whole words, any case, plural 's' allowed ("Confucius
        -- Institutes"); regex metacharacters in a keyword are taken literally
        '(?i)\b' || {{ regex_escape('keyword') }} || 's?\b' as pattern

    from themes

),

keywords_version as (

    -- a changed seed makes every stored match stale
    select
        md5(coalesce(string_agg(
            theme_id || chr(31) || keyword || chr(31) || language, chr(30)
            order by theme_id, keyword, language
        ), '')) as keywords_key

    from themes

),

texts as (

    select
        releases.release_id,
        releases.title || chr(10) || coalesce(releases.body_text, '') as text,
        md5(releases.title || chr(10) || coalesce(releases.body_text, '')) as text_key,
        keywords_version.keywords_key

    from releases
    cross join keywords_version

),

-- read twice (the matching, and the final list of releases looked at): not materialised, which
-- would hold every text to match in memory at once (out of memory at 100x, 2 million releases)
to_match as not materialized (

    select * from texts
    {% if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as stored
        where stored.release_id = texts.release_id
            and stored.text_key = texts.text_key
            and stored.keywords_key = texts.keywords_key
    )
    {% endif %}

),

lowered as (

    -- RE2's case folding also maps the long s 'ſ' to 's'; lower() does not, so it is mapped
    -- here, or the substring test below could miss a pair the regex would match
    select
        *,
        replace(lower(text), 'ſ', 's') as text_lower

    from to_match

),

candidates as (

    -- a cheap substring test first: a whole-word, any-case match contains the keyword in
    -- lower case, so the regular expression only runs on the pairs that pass it
    select
        lowered.release_id,
        lowered.text,
        keywords.theme_id,
        keywords.keyword,
        keywords.language,
        keywords.pattern

    from lowered
    inner join keywords
        on case
            when keywords.language = 'en' then strpos(lowered.text_lower, keywords.keyword_lower) > 0
            else strpos(lowered.text, keywords.keyword) > 0
        end

),

-- The keywords a release matched, per theme, as one number (a bit per keyword) before they are
-- spelled out: DuckDB spills a fixed-size aggregate such as bit_or to disk, while a string_agg
-- with ORDER BY over millions of (release, theme) groups has to stay in memory. Only the few
-- distinct sets of keywords found are spelled out.
keyword_bits as (

    select
        theme_id,
        keyword,
        case
            when keyword_rank <= 64 then cast(1 as ubigint) << cast(keyword_rank - 1 as ubigint)
            else error('int_release_theme_matches: more than 64 keywords for ' || theme_id)
        end as keyword_bit

    from (
        select
            theme_id,
            keyword,
            row_number() over (partition by theme_id order by keyword) as keyword_rank
        from (select distinct theme_id, keyword from keywords) as names
    ) as ranked

),

matched as (

    select
        candidates.release_id,
        candidates.theme_id,
        bit_or(keyword_bits.keyword_bit) as keyword_set

    from candidates
    inner join keyword_bits
        on candidates.theme_id = keyword_bits.theme_id
        and candidates.keyword = keyword_bits.keyword
    where candidates.language <> 'en' or regexp_matches(candidates.text, candidates.pattern)
    group by candidates.release_id, candidates.theme_id

),

keyword_sets as (

    select
        sets.theme_id,
        sets.keyword_set,
        string_agg(keyword_bits.keyword, '; ' order by keyword_bits.keyword) as matched_keywords

    from (select distinct theme_id, keyword_set from matched) as sets
    inner join keyword_bits
        on sets.theme_id = keyword_bits.theme_id
        and (sets.keyword_set & keyword_bits.keyword_bit) <> 0
    group by sets.theme_id, sets.keyword_set

),

matches as (

    select
        matched.release_id,
        matched.theme_id,
        keyword_sets.matched_keywords

    from matched
    inner join keyword_sets
        on matched.theme_id = keyword_sets.theme_id
        and matched.keyword_set = keyword_sets.keyword_set

),

final as (

    select
        to_match.release_id,
        matches.theme_id,
        matches.matched_keywords,
        to_match.text_key,
        to_match.keywords_key

    from to_match
    left join matches
        on to_match.release_id = matches.release_id

)

select * from final
