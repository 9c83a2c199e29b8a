{#- ref() and source() without the catalog name.

    DuckDB names a database file's catalog after the file (audit.duckdb -> "audit"), and a view
    stores the SQL it was created with. The audit file is published by copying it to
    warehouse.duckdb, where a view reading "audit"."raw"."observation" would fail. A view resolves
    unqualified names in its own catalog, so dropping the catalog keeps every view working in
    whichever file (or ATTACH alias) it ends up in. -#}

{% macro ref() %}
    {%- set version = kwargs.get('version') or kwargs.get('v') -%}
    {%- if (varargs | length) == 1 -%}
        {%- set relation = builtins.ref(varargs[0], version=version) -%}
    {%- else -%}
        {%- set relation = builtins.ref(varargs[0], varargs[1], version=version) -%}
    {%- endif -%}
    {{ return(_without_catalog(relation)) }}
{% endmacro %}

{% macro source(source_name, table_name) %}
    {{ return(_without_catalog(builtins.source(source_name, table_name))) }}
{% endmacro %}

{% macro _without_catalog(relation) %}
    {#- Unit-test fixtures and compile-time placeholders are not always Relations. -#}
    {%- if relation is not string and relation.include is defined -%}
        {{ return(relation.include(database=false)) }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}
