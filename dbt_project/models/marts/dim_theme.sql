with

themes as (

    select * from {{ ref('themes') }}

),

final as (

    select
        cast(theme_id as varchar) as theme_id,
        cast(min(theme_name_en) as varchar) as theme_name_en,
        cast(min(theme_name_zh) as varchar) as theme_name_zh,
        cast(string_agg(keyword, '; ' order by keyword) filter (where language = 'zh') as varchar)
            as keywords_zh,
        cast(string_agg(keyword, '; ' order by keyword) filter (where language = 'en') as varchar)
            as keywords_en,
        cast(count(*) as integer) as keyword_count

    from themes
    group by theme_id

)

select * from final
