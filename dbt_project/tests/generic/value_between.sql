{% test value_between(model, column_name, min_value, max_value) %}
{#- Shares live in [0, 1]; a value outside means a wrong denominator. NULL (unknown) passes. -#}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}
