{% macro precedence_rank(column, sources) -%}
    {#- 1 for the first source listed, 2 for the next, …; an unlisted source ranks last. A CASE
        rather than list_position() keeps the SQL portable to a server warehouse target. -#}
    case {{ column }}
        {%- for source in sources %}
        when '{{ source | replace("'", "''") }}' then {{ loop.index }}
        {%- endfor %}
        else {{ (sources | length) + 1 }}
    end
{%- endmacro %}
