with

source as (

    select * from {{ source('raw', 'release_statistic') }}

),

final as (

    select
        source,
        url,
        content_sha256,
        row_index,
        period_year,
        lower(trim(measure)) as measure,
        lower(trim(breakdown)) as breakdown,
        -- as MOE writes it (韩国, 亚洲, 硕士研究生): the Chinese text is the identity of the member
        trim(member) as member,
        value,
        lower(trim(unit)) as unit,
        coalesce(nullif(lower(trim(qualifier)), ''), 'exact') as qualifier,
        trim(sentence) as sentence

    from source

)

select * from final
