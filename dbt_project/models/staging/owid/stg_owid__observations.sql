{#- Our World in Data grapher series ('owid:<metric>'); OWID ships no flags. -#}
{{ stage_observations(source('raw', 'observation'), var('owid_sources'), incremental=is_incremental()) }}
