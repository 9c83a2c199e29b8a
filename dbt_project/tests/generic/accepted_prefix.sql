{% test accepted_prefix(model, column_name, prefix) %}
{#- Ids namespaced by their publisher ('owid:…') keep the namespaces of dim_indicator apart. -#}
select {{ column_name }}
from {{ model }}
where not starts_with({{ column_name }}, '{{ prefix | replace("'", "''") }}')
{% endtest %}
