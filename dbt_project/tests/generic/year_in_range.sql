{% test year_in_range(model, column_name, min_year=none, max_year=none) %}
{#- Years outside a plausible window reveal a parser mixing up columns (value in the year slot). -#}
{%- set low = min_year if min_year is not none else var('min_year') -%}
{%- set high = max_year if max_year is not none else var('max_year') -%}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ low }} or {{ column_name }} > {{ high }}
{% endtest %}
