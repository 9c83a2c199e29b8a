{% macro stage_observations(relation, sources, keys=none) %}
{#- The staging shape shared by every observation publisher: trimmed ids, upper-case flags, the
    newest batch of each (source, indicator, <keys>, year), and no placeholder value where the
    source says the number is missing. `keys` maps each key column to the expression normalising
    it: one geo unit for raw.observation (UIS, World Bank, OWID, the default), origin and
    destination for raw.flow_observation (OECD). -#}
{%- set keys = keys or {'geo_unit': 'trim(geo_unit)'} -%}
with

source as (

    select * from {{ relation }}
    where source in ({{ sql_list(sources) }})

),

normalized as (

    select
        source,
        trim(indicator_id) as indicator_id,
        {%- for column, expression in keys.items() %}
        {{ expression }} as {{ column }},
        {%- endfor %}
        year,
        value,
        value_raw,
        nullif(upper(trim(magnitude)), '') as magnitude,
        nullif(upper(trim(qualifier)), '') as qualifier,
        data_version,
        batch_sha256,
        loaded_at

    from source

),

latest_batch as (

    -- a re-downloaded series supersedes the older batch; the sha breaks ties deterministically
    select
        *,
        row_number() over (
            partition by source, indicator_id, {{ keys.keys() | join(', ') }}, year
            order by loaded_at desc, batch_sha256 desc
        ) as batch_rank

    from normalized

),

final as (

    select
        source,
        indicator_id,
        {%- for column in keys %}
        {{ column }},
        {%- endfor %}
        year,
        -- sources ship a placeholder 0 with NIL/NA/SUPP: keeping it would read as "zero students"
        case
            when magnitude in ({{ sql_list(var('missing_magnitudes')) }}) then null
            else value
        end as value,
        value_raw,
        magnitude,
        qualifier,
        data_version,
        batch_sha256,
        loaded_at

    from latest_batch
    where batch_rank = 1

)

select * from final
{% endmacro %}
