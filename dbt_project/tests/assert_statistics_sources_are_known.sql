{{ config(severity='warn') }}
{#- raw.observation and raw.flow_observation are shared by several publishers; a model reads only
    the sources its publisher's var lists. A source named in no list would be loaded and then
    silently ignored: name it here so that it gets added to dbt_project.yml. -#}
{%- set observation_sources = var('uis_sources') + var('worldbank_sources') + var('owid_sources') -%}

select distinct 'observation' as raw_table, source
from {{ source('raw', 'observation') }}
where source not in ({{ sql_list(observation_sources) }})

union all

select distinct 'flow_observation' as raw_table, source
from {{ source('raw', 'flow_observation') }}
where source not in ({{ sql_list(var('oecd_sources') + var('uis_flow_sources')) }})
