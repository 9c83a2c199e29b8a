{#- World Bank API and bulk CSV; magnitude holds the API's obs_status. -#}
{{ stage_observations(source('raw', 'observation'), var('worldbank_sources'), incremental=is_incremental()) }}
