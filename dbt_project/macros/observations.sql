{% macro stage_observations(relation, sources, keys=none, incremental=false) %}
{#- The staging shape shared by every observation publisher: trimmed ids, upper-case flags, the
    newest batch of each (source, indicator, <keys>, year), and no placeholder value where the
    source says the number is missing. `keys` maps each key column to the expression normalising
    it: one geo unit for raw.observation (UIS, World Bank, OWID, the default), origin and
    destination for raw.flow_observation (OECD).

    Incremental: raw rows are only ever added, and each load stamps `loaded_at` while it holds the
    home's writer lock, so the rows not staged yet are exactly those loaded after the newest staged
    row (a row that breaks this makes eduopen.warehouse.audit.prepare_audit drop every model tagged
    statistics_incremental: it is rebuilt).
    A newer load also wins every point it carries (latest_batch below), so an incremental run ranks
    the new rows among themselves and replaces those points (delete+insert on the key): its cost
    follows the new rows, not the table. `staging_key` records what the stored rows were
    staged under (sources, keys, missing-value flags); when that changes, every row is restaged and
    the post-hook drops the rows staged under the old one. The model passes `is_incremental()` as
    `incremental`, so a unit test can override it. -#}
{%- set keys = keys or {'geo_unit': 'trim(geo_unit)'} -%}
{%- set staging_key = local_md5(tojson([sources, keys, var('missing_magnitudes')])) -%}
{{ config(
    materialized='incremental',
    unique_key=['source', 'indicator_id'] + (keys.keys() | list) + ['year'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    post_hook="delete from {{ this }} where staging_key is distinct from '" ~ staging_key ~ "'",
    tags=['statistics_incremental'],
) }}
with

source as (

    select * from {{ relation }}
    where source in ({{ sql_list(sources) }})
    {%- if incremental %}
        and loaded_at > (
            select coalesce(max(loaded_at), '-infinity'::timestamptz)
            from {{ this }}
            where staging_key = '{{ staging_key }}'
        )
    {%- endif %}

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
        loaded_at,
        '{{ staging_key }}' as staging_key

    from latest_batch
    where batch_rank = 1

)

select * from final
{% endmacro %}
