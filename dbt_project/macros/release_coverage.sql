{% macro release_coverage_start_year(published_date) %}
    {#- First year the release sources are collected in full, as an aggregate over the releases:
        var release_coverage_start_year when set, else the year of the earliest release. Release
        counts of earlier years are NULL (not collected), never 0. -#}
    {%- set configured = var('release_coverage_start_year') -%}
    cast(coalesce(
        {{ 'null' if configured is none else configured }},
        min(extract(year from {{ published_date }}))
    ) as integer)
{%- endmacro %}
