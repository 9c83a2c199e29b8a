{#- Helpers that make an incremental mart end up identical to a full refresh. -#}

{% macro new_or_changed(key, relation_alias) %}
    {#- Row filter for an incremental run over `relation_alias` (the relation the caller filters):
        rows whose key is new or whose values differ from the stored row. Every contract column is
        compared null-safely, so a re-run on unchanged input writes nothing and a changed row is
        replaced whole (delete+insert on the key). A column the stored table does not have yet (a
        contract change) marks every row as changed. -#}
    {%- set stored_columns = adapter.get_columns_in_relation(this) | map(attribute='name')
        | map('lower') | list -%}
    {%- set columns = model.columns.keys() | map('lower') | list -%}
    {%- set missing = columns | reject('in', stored_columns) | list -%}
    {%- if missing -%}
        true
    {%- else -%}
        not exists (
            select 1
            from {{ this }} as stored
            where stored.{{ key }} = {{ relation_alias }}.{{ key }}
            {%- for column in columns if column != key %}
                and stored.{{ column }} is not distinct from {{ relation_alias }}.{{ column }}
            {%- endfor %}
        )
    {%- endif -%}
{% endmacro %}

{% macro delete_vanished(key, upstream) %}
    {#- Post-hook: drop stored rows whose key the upstream model no longer produces (for example a
        release that a later version turned into a repost of another). Harmless on a full refresh. -#}
    delete from {{ this }}
    where {{ key }} not in (select {{ key }} from {{ upstream }})
{% endmacro %}

{% macro statistics_settings() %}
    {#- Every var the statistics models read: a change to any of them changes which rows win or what
        they hold, without a newer load to show it, so the incremental statistics models rebuild. -#}
    {{ return([
        var('uis_sources'), var('worldbank_sources'), var('owid_sources'), var('oecd_sources'),
        var('uis_flow_sources'), var('estimate_qualifiers'), var('flow_source_precedence'),
        var('students_from_china_indicator'), var('home_country'), var('missing_magnitudes'),
    ]) }}
{% endmacro %}

{% macro statistics_reference_key() %}
    {#- What an incremental statistics model was built against, as one md5 (a scalar subquery):
        statistics_settings() and the geo-unit mapping, which changes with the data (a new UIS
        definition, a new alias in a seed). Every row stores it; rows stored under another key are
        stale: the model recomputes every point and its post-hook drops what is left of them. -#}
    (
        select md5('{{ local_md5(tojson(statistics_settings())) }}' || coalesce(string_agg(
            geo_unit || chr(31) || coalesce(country_iso3, '') || chr(31) || cast(is_regional as varchar),
            chr(30) order by geo_unit
        ), ''))
        from {{ ref('int_geo_units_mapped') }}
    )
{% endmacro %}

{% macro statistics_watermark() %}
    {#- The newest input load an incremental statistics model has taken in: the largest
        `inputs_loaded_through` (the newest loaded_at among all its inputs when a run built a row)
        among rows stored under the current reference key; none after a change of key, so every
        point is recomputed. Inputs are only ever added, each load stamped later than the last,
        so the points with an input loaded after it are exactly the ones to recompute. (The
        stored winners' own loaded_at would not do: a lower-precedence source loaded later would
        make every point it touches look new on every run.) -#}
    (
        select coalesce(max(inputs_loaded_through), '-infinity'::timestamptz)
        from {{ this }}
        where reference_key = {{ statistics_reference_key() }}
    )
{% endmacro %}
