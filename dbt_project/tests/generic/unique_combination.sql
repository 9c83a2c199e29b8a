{% test unique_combination(model, columns) %}
{#- Each combination of `columns` appears at most once. The same check as `unique` on the columns
    concatenated, without building a string for every row: on millions of rows it is the slowest
    test of a build, and grouping by the columns themselves takes less than half the time. NULL
    counts as a value (two rows alike but for NULLs are duplicates). -#}
select
    {{ columns | join(', ') }},
    count(*) as occurrences

from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
