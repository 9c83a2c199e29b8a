{#- One event, many versions: the Chinese and English versions of a release, and its reposts in
    feeds or on the State Council site, are one event. Releases are linked on evidence, never on
    topic alone; events are the connected groups of links; the event is named after its earliest
    release, so a translation published later joins an event without renaming it. -#}
{%- set window = var('event_window_days') -%}

with

releases as (

    select * from {{ ref('int_releases_deduplicated') }}

),

figures as (

    select * from {{ ref('int_release_figures_kept') }}

),

curated_links as (

    select * from {{ ref('release_event_links') }}

),

same_title as (

    -- the same title (spacing aside) within the window: a repost or a feed's copy
    select
        a.release_id as release_a,
        b.release_id as release_b

    from releases as a
    inner join releases as b
        on a.title_key = b.title_key
        and a.release_id < b.release_id
        and abs(a.published_date - b.published_date) <= {{ window }}

),

distinctive_figures as (

    -- a count large enough to identify a statement (492,185 students), not a share or a small
    -- count that many unrelated releases repeat
    select distinct
        release_id,
        metric,
        value

    from figures
    where value >= {{ var('event_figure_min_value') }}

),

same_figure as (

    -- the same headline figure within the window: a translation states the same statistics
    select distinct
        a.release_id as release_a,
        b.release_id as release_b

    from distinctive_figures as a
    inner join distinctive_figures as b
        on a.metric = b.metric
        and a.value = b.value
        and a.release_id < b.release_id
    inner join releases as release_a
        on a.release_id = release_a.release_id
    inner join releases as release_b
        on b.release_id = release_b.release_id
    where abs(release_a.published_date - release_b.published_date) <= {{ window }}

),

curated as (

    -- translations that share no figure, linked by a maintainer who read both
    select
        least(a.release_id, b.release_id) as release_a,
        greatest(a.release_id, b.release_id) as release_b

    from curated_links
    inner join releases as a
        on curated_links.url = a.url
    inner join releases as b
        on curated_links.same_event_as_url = b.url

),

links as (

    select release_a, release_b from same_title
    union
    select release_a, release_b from same_figure
    union
    select release_a, release_b from curated

),

edges as (

    select release_a as release_id, release_b as neighbour_id from links
    union all
    select release_b as release_id, release_a as neighbour_id from links

),

labels_0 as (

    -- a release's label sorts by publication date, then id: the smallest label in a group is its
    -- earliest release
    select
        release_id,
        coalesce(cast(published_date as varchar), '9999-12-31') || '|' || release_id as label

    from releases

),

{#- Each round hands every release the smallest label among its neighbours: enough rounds for
    any chain of versions the sources produce (an original, its translation, their reposts). -#}
{%- for step in range(var('event_link_rounds')) %}
labels_{{ step + 1 }} as (

    select
        labels.release_id,
        least(labels.label, coalesce(min(neighbours.label), labels.label)) as label

    from labels_{{ step }} as labels
    left join edges
        on labels.release_id = edges.release_id
    left join labels_{{ step }} as neighbours
        on edges.neighbour_id = neighbours.release_id
    group by labels.release_id, labels.label

),
{%- endfor %}

final as (

    select
        release_id,
        split_part(label, '|', 2) as event_id,
        cast(count(*) over (partition by label) as integer) as event_release_count

    from labels_{{ var('event_link_rounds') }}

)

select * from final
