{{
    config(
        materialized='incremental',
        unique_key=['publisher', 'indicator_id', 'geo_key', 'year'],
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook="delete from {{ this }} where reference_key is distinct from {{ statistics_reference_key() }}",
        tags=['statistics_incremental'],
    )
}}

{#- Incremental: only the points (publisher, indicator, place, year) with a staged row loaded after
    the stored ones are ranked again, from every staged row of those points (see
    statistics_watermark); delete+insert replaces them. -#}
{%- set observation_columns = ['source', 'indicator_id', 'geo_unit', 'year', 'value', 'value_raw', 'magnitude',
                               'qualifier', 'data_version', 'batch_sha256', 'loaded_at'] -%}
{%- set publishers = [
    {'name': 'uis', 'model': 'stg_uis__observations', 'sources': var('uis_sources')},
    {'name': 'worldbank', 'model': 'stg_worldbank__observations', 'sources': var('worldbank_sources')},
    {'name': 'owid', 'model': 'stg_owid__observations', 'sources': var('owid_sources')},
] -%}

with

{% for publisher in publishers %}
{{ publisher.name }}_observations as (

    select * from {{ ref(publisher.model) }}

),

{% endfor %}
geo_units as (

    select * from {{ ref('int_geo_units_mapped') }}

),

stacked as (

    {%- for publisher in publishers %}
    select
        '{{ publisher.name }}' as publisher,
        {%- for column in observation_columns %}
        {{ column }},
        {%- endfor %}
        {{ precedence_rank('source', publisher.sources) }} as source_precedence

    from {{ publisher.name }}_observations
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

mapped as (

    select
        stacked.*,
        geo_units.country_iso3,
        coalesce(geo_units.is_regional, false) as is_regional,
        -- two spellings of one country ('KOR', 'Republic of Korea') are one point
        coalesce(geo_units.country_iso3, stacked.geo_unit) as geo_key

    from stacked
    left join geo_units
        on stacked.geo_unit = geo_units.geo_unit

),

{% if is_incremental() %}
watermark as (

    select {{ statistics_watermark() }} as loaded_at

),

new_points as (

    -- each staged table read on its own, not from mapped: a CTE read twice is materialised,
    -- every row of it
    {%- for publisher in publishers %}
    select '{{ publisher.name }}' as publisher, indicator_id, geo_unit, year
    from {{ ref(publisher.model) }}
    where loaded_at > (select loaded_at from watermark)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

changed_points as (

    select distinct
        new_points.publisher,
        new_points.indicator_id,
        coalesce(geo_units.country_iso3, new_points.geo_unit) as geo_key,
        new_points.year

    from new_points
    left join geo_units
        on new_points.geo_unit = geo_units.geo_unit

),

{% endif %}
ranked as (

    -- Source precedence within a publisher: the API beats the data-browser export, which beats
    -- the bulk file (uis > uis_export > uis_bulk; worldbank > worldbank_bulk). The winner is kept
    -- even when its value is missing: a NA or SUPP in the current answer overrides a number in an
    -- older snapshot. Same source twice (two spellings of a country): the newer load wins.
    select
        *,
        row_number() over (
            partition by publisher, indicator_id, geo_key, year
            order by source_precedence asc, loaded_at desc, batch_sha256 desc, geo_unit asc
        ) as precedence_rank,
        count(*) over (partition by publisher, indicator_id, geo_key, year) as sources_reporting

    from mapped
    {%- if is_incremental() %}
    semi join changed_points using (publisher, indicator_id, geo_key, year)
    {%- endif %}

),

final as (

    select
        publisher,
        source,
        indicator_id,
        geo_unit,
        country_iso3,
        is_regional,
        geo_key,
        year,
        value,
        value_raw,
        magnitude,
        qualifier,
        -- 'NA', 'UIS_EST', 'NIL|NAT_EST': why a number is missing or estimated
        nullif(concat_ws('|', magnitude, qualifier), '') as flags,
        cast(sources_reporting as integer) as sources_reporting,
        data_version,
        batch_sha256,
        loaded_at,
        greatest(
            {%- for publisher in publishers %}
            (select max(staged.loaded_at) from {{ ref(publisher.model) }} as staged){% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as inputs_loaded_through,
        {{ statistics_reference_key() }} as reference_key

    from ranked
    where precedence_rank = 1

)

select * from final
