{% test not_blank(model, column_name) %}
{#- A title or name that is only whitespace is as useless as NULL, and `not_null` lets it through. -#}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is null or trim({{ column_name }}) = ''
{% endtest %}
