{% macro sql_list(values) -%}
    {#- ['a', 'b'] -> 'a', 'b' for an `in (...)` clause; values come from project vars, not users. -#}
    {%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
