{#- OECD SDMX-CSV flows (API and landing files): the newest batch per source, indicator, origin,
    destination and year; country codes upper-cased for the ISO3 join downstream. -#}
{{ stage_observations(
    source('raw', 'flow_observation'),
    var('oecd_sources'),
    keys={'origin': 'upper(trim(origin))', 'destination': 'upper(trim(destination))'},
    incremental=is_incremental(),
) }}
