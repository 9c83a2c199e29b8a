{% macro map_flow_countries(flows, geo_units) %}
    {#- Flow rows (`flows`, a relation shaped like stg_oecd__flows) with origin and destination
        mapped to ISO3 by `geo_units` (a relation shaped like int_geo_units_mapped); an aggregate
        or unmapped code maps to NULL. -#}
    select
        {{ flows }}.source,
        {{ flows }}.indicator_id,
        origins.country_iso3 as origin_iso3,
        destinations.country_iso3 as destination_iso3,
        {{ flows }}.year,
        {{ flows }}.value as students,
        {{ flows }}.magnitude,
        {{ flows }}.qualifier,
        {{ flows }}.data_version,
        {{ flows }}.batch_sha256,
        {{ flows }}.loaded_at

    from {{ flows }}
    left join {{ geo_units }} as origins
        on {{ flows }}.origin = origins.geo_unit
    left join {{ geo_units }} as destinations
        on {{ flows }}.destination = destinations.geo_unit
{% endmacro %}
