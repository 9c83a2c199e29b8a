with

releases as (

    select * from {{ ref('fct_policy_release') }}

),

themes as (

    select * from {{ ref('themes') }}

),

keywords as (

    select
        theme_id,
        keyword,
        language,
        -- English keywords match whole words, any case, plural 's' allowed ("Confucius
        -- Institutes"); regex metacharacters in a keyword are taken literally
        '(?i)\b' || regexp_replace(keyword, '([.^$|?*+()\[\]{}\\-])', '\\\1', 'g') || 's?\b'
            as pattern

    from themes

),

texts as (

    select
        release_id,
        title || chr(10) || coalesce(body_text, '') as text

    from releases

),

matches as (

    select
        texts.release_id,
        keywords.theme_id,
        keywords.keyword

    from texts
    inner join keywords
        on case
            when keywords.language = 'en' then regexp_matches(texts.text, keywords.pattern)
            else strpos(texts.text, keywords.keyword) > 0
        end

),

final as (

    select
        cast(release_id as varchar) as release_id,
        cast(theme_id as varchar) as theme_id,
        cast(string_agg(distinct keyword, '; ' order by keyword) as varchar) as matched_keywords

    from matches
    group by release_id, theme_id

)

select * from final
