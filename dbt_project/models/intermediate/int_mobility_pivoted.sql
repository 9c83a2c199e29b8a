{#- One row per country and year. Each measure comes from its own winning source and says how it
    was obtained (*_status): 'published' as the source gives it, 'estimate' when the source flags
    it as its own estimate (var estimate_qualifiers), 'derived' when computed here. Outbound is
    derived as inbound - net flow when no source publishes it: UIS defines net flow (MENF.5T8) as
    inbound minus outbound. -#}
{%- set measures = {'inbound_students': 'inbound', 'outbound_students': 'outbound', 'net_flow': 'net_flow',
                    'inbound_mobility_rate': 'inbound_mobility_rate',
                    'outbound_mobility_ratio': 'outbound_mobility_ratio'} -%}

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
        mobility_indicators.measure,
        case
            when observations.value is null then null
            when list_has_any(
                    string_split(coalesce(observations.qualifier, ''), '|'),
                    {{ var('estimate_qualifiers') }}
                ) then 'estimate'
            else 'published'
        end as value_status

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
        {%- for measure, prefix in measures.items() %}
        max(value) filter (where measure = '{{ measure }}') as {{ prefix }}_value,
        max(value_status) filter (where measure = '{{ measure }}') as {{ prefix }}_value_status,
        max(flags) filter (where measure = '{{ measure }}') as {{ prefix }}_flags,
        max(source) filter (where measure = '{{ measure }}') as {{ prefix }}_reported_by,
        max(data_version) filter (where measure = '{{ measure }}') as {{ prefix }}_data_version,
        {%- endfor %}
        max(data_version) as data_version

    from country_observations
    group by country_iso3, year

),

with_outbound as (

    select
        *,
        -- a negative difference means the two series disagree (e.g. different reference
        -- enrolments): no outbound count can be derived from them, so none is
        inbound_value - net_flow_value >= 0 as outbound_derivable

    from pivoted

),

final as (

    select
        country_iso3 || '-' || cast(year as varchar) as mobility_id,
        country_iso3,
        year,

        inbound_value as inbound_students,
        inbound_value_status as inbound_status,
        inbound_reported_by as inbound_source,
        inbound_flags,

        case
            when outbound_value is not null then outbound_value
            when outbound_derivable then inbound_value - net_flow_value
        end as outbound_students,
        case
            when outbound_value is not null then outbound_value_status
            when outbound_derivable then 'derived'
        end as outbound_status,
        case
            when outbound_value is not null then outbound_reported_by
            -- derived: the sources of its two inputs
            when outbound_derivable
                then concat_ws(
                        '+', inbound_reported_by,
                        nullif(net_flow_reported_by, inbound_reported_by)
                    )
            else outbound_reported_by
        end as outbound_source,
        case when outbound_value is not null or outbound_derivable is not true then outbound_flags end
            as outbound_flags,

        net_flow_value as net_flow,
        net_flow_value_status as net_flow_status,
        net_flow_reported_by as net_flow_source,
        net_flow_flags,

        -- rates are only ever taken as published: none is derived here
        {%- for prefix in ['inbound_mobility_rate', 'outbound_mobility_ratio'] %}
        {{ prefix }}_value as {{ prefix }},
        {{ prefix }}_value_status as {{ prefix }}_status,
        {{ prefix }}_reported_by as {{ prefix }}_source,
        {%- endfor %}

        -- every source the row's values came from, sorted
        nullif(array_to_string(list_sort(list_distinct(list_filter(
            [
                inbound_reported_by, outbound_reported_by, net_flow_reported_by,
                inbound_mobility_rate_reported_by, outbound_mobility_ratio_reported_by
            ],
            x -> x is not null
        ))), ','), '')
            as source,
        data_version

    from with_outbound

)

select * from final
