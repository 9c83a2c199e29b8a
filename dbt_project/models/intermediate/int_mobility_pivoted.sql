{%- set measures = ['inbound_students', 'outbound_students', 'net_flow', 'inbound_mobility_rate',
                    'outbound_mobility_ratio'] -%}

with

observations as (

    select * from {{ ref('int_observations_unified') }}

),

mobility_indicators as (

    select * from {{ ref('mobility_indicators') }}

),

country_observations as (

    -- Regional aggregates ('SDG: Eastern and South-Eastern Asia', 'WB: …') would double count
    -- when summed with countries, and an unmapped geo unit is no country: keep countries only.
    -- Source precedence (uis > uis_export > uis_bulk) was settled upstream, per indicator.
    select
        observations.*,
        mobility_indicators.measure

    from observations
    inner join mobility_indicators
        on observations.indicator_id = mobility_indicators.indicator_id
    where observations.publisher = 'uis'
        and observations.country_iso3 is not null

),

pivoted as (

    select
        country_iso3,
        year,
        {%- for measure in measures %}
        max(value) filter (where measure = '{{ measure }}') as {{ measure }},
        {%- endfor %}
        max(flags) filter (where measure = 'inbound_students') as inbound_flags,
        max(flags) filter (where measure = 'outbound_students') as outbound_flags,
        max(source) filter (where measure = 'inbound_students') as inbound_source,
        max(source) filter (where measure = 'outbound_students') as outbound_source,
        -- the winning source of each measure, e.g. 'uis' or 'uis,uis_bulk'
        string_agg(distinct source, ',' order by source) as source,
        max(data_version) as data_version

    from country_observations
    group by country_iso3, year

),

final as (

    select
        country_iso3 || '-' || cast(year as varchar) as mobility_id,
        *

    from pivoted

)

select * from final
