{{
    config(
        materialized='incremental',
        unique_key='figure_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_vanished('figure_id', ref('int_release_figures_kept')) }}",
    )
}}

with

figures as (

    select * from {{ ref('int_release_figures_kept') }}

),

final as (

    select
        cast(figure_id as varchar) as figure_id,
        cast(release_id as varchar) as release_id,
        cast(figure_index as integer) as figure_index,
        cast(metric as varchar) as metric,
        cast(value as double) as value,
        cast(unit as varchar) as unit,
        cast(qualifier as varchar) as qualifier,
        cast(period_year as integer) as period_year,
        cast(sentence as varchar) as sentence,
        cast(source as varchar) as source,
        cast(content_sha256 as varchar) as content_sha256

    from figures

)

select * from final
{% if is_incremental() %}
where {{ new_or_changed('figure_id', 'final') }}
{% endif %}
