{#- Helpers that make an incremental mart end up identical to a full refresh. -#}

{% macro new_or_changed(key, relation_alias='final') %}
    {#- Row filter for an incremental run: rows whose key is new or whose values differ from the
        stored row. Every contract column is compared null-safely, so a re-run on unchanged input
        writes nothing and a changed row is replaced whole (delete+insert on the key). A column the
        stored table does not have yet (a contract change) marks every row as changed. -#}
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
