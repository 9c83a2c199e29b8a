{% test non_negative(model, column_name) %}
{#- Counts of students (and the like) are never below zero; NULL means unknown and passes. -#}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
