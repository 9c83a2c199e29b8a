{#- UIS API answers, data-browser exports and bulk files: the newest batch per source and point.
    Which of the three wins for the same point is decided in int_observations_unified. -#}
{{ stage_observations(source('raw', 'observation'), var('uis_sources'), incremental=is_incremental()) }}
