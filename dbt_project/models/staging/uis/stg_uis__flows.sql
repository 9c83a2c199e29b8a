{#- UIS flows by origin and destination (the top-10 destinations file dropped in landing/): the
    newest batch per source, indicator, origin, destination and year. Origin and destination are
    ISO3 codes already (landing maps the file's English names). -#}
{{ stage_observations(
    source('raw', 'flow_observation'),
    var('uis_flow_sources'),
    keys={'origin': 'upper(trim(origin))', 'destination': 'upper(trim(destination))'},
    incremental=is_incremental(),
) }}
