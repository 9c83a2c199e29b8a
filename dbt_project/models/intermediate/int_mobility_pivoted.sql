with

observations as (

    select * from {{ ref('stg_uis__observations') }}

),

geo_units as (

    select * from {{ ref('stg_uis__geo_units') }}

),

mobility_indicators as (

    select * from {{ ref('mobility_indicators') }}

),

country_observations as (

    -- Regional aggregates ('SDG: Eastern and South-Eastern Asia', 'WB: …') would double count
    -- when summed with countries: keep national units only. A unit without a definition row is
    -- judged by its id.
    select
        observations.*,
        mobility_indicators.measure

    from observations
    inner join mobility_indicators
        on observations.indicator_id = mobility_indicators.indicator_id
    left join geo_units
        on observations.geo_unit = geo_units.geo_unit
    where coalesce(geo_units.is_national, regexp_full_match(observations.geo_unit, '[A-Z]{3}'))

),

one_per_measure as (

    -- the API and a CSV export may both carry a point: the newer load wins, stably
    select
        *,
        row_number() over (
            partition by measure, geo_unit, year
            order by loaded_at desc, batch_sha256 desc, source
        ) as source_rank

    from country_observations

),

pivoted as (

    select
        geo_unit as country_iso3,
        year,
        {%- for measure in ['inbound_students', 'outbound_students', 'net_flow',
                            'inbound_mobility_rate', 'outbound_mobility_ratio'] %}
        max(value) filter (where measure = '{{ measure }}') as {{ measure }},
        {%- endfor %}
        -- 'NA', 'UIS_EST', 'NIL|NAT_EST': why a number is missing or estimated
        max(nullif(concat_ws('|', magnitude, qualifier), ''))
            filter (where measure = 'inbound_students') as inbound_flags,
        max(nullif(concat_ws('|', magnitude, qualifier), ''))
            filter (where measure = 'outbound_students') as outbound_flags,
        string_agg(distinct source, ',' order by source) as source,
        max(data_version) as data_version

    from one_per_measure
    where source_rank = 1
    group by geo_unit, year

),

final as (

    select
        country_iso3 || '-' || cast(year as varchar) as mobility_id,
        *

    from pivoted

)

select * from final
