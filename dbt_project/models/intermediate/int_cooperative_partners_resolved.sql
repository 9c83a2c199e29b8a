{%- set home = var('home_country') -%}
{#- Each foreign partner of each register entry version, and the country it is in. The first rule
    that gives an answer decides, and only an unambiguous one:
      1. the partner seed (cooperative_partners): the name form, as maintained, with its country;
      2. a country name the partner's name starts with (英国利物浦大学, 美国纽约大学: the register's
         own way of writing a foreign partner), the longest such name;
      3. a country name the partner's name contains (English names as whole words), unless "New"
         (新) comes before it.
    No rule, or two countries from one rule, is no country: the partner is quarantined with the
    reason, never given a guess. -#}

with

records as (

    select * from {{ ref('stg_cfcrs__records') }}

),

partner_seed as (

    select * from {{ ref('cooperative_partners') }}

),

countries as (

    select * from {{ ref('countries') }}

),

country_aliases as (

    select * from {{ ref('country_aliases') }}

),

moe_country_names as (

    select * from {{ ref('moe_country_names') }}

),

named_partners as (

    select
        record_version_id,
        unnest(foreign_partners) as partner_name,
        generate_subscripts(foreign_partners, 1) as partner_index

    from records

),

partners as (

    -- one row per partner; an entry that names none keeps one row with a NULL name
    select
        records.record_version_id,
        coalesce(named_partners.partner_index, 1) as partner_index,
        named_partners.partner_name,
        {{ name_key('named_partners.partner_name') }} as partner_key

    from records
    left join named_partners
        on records.record_version_id = named_partners.record_version_id

),

seed_forms as (

    select
        {{ name_key('partner_name') }} as form_key,
        country_iso3

    from partner_seed
    where country_iso3 is not null

),

seed_matches as (

    select
        partners.record_version_id,
        partners.partner_index,
        count(distinct seed_forms.country_iso3) as countries,
        min(seed_forms.country_iso3) as country_iso3,
        string_agg(distinct seed_forms.country_iso3, ',' order by seed_forms.country_iso3) as candidates

    from partners
    inner join seed_forms
        on partners.partner_key = seed_forms.form_key
    group by partners.record_version_id, partners.partner_index

),

country_form_names as (

    select country_iso3, name_en as form, 'en' as language from countries
    union all
    select country_iso3, name_zh as form, 'zh' as language from countries
    union all
    select country_iso3, alias as form, language from country_aliases
    where language in ('en', 'zh')
    union all
    select country_iso3, member as form, 'zh' as language from moe_country_names

),

country_forms as (

    -- a foreign partner is never in the home country (Hong Kong and Macao are their own rows)
    select distinct
        country_iso3,
        {{ name_key('form') }} as form_key,
        language

    from country_form_names
    where country_iso3 is not null
        and country_iso3 <> '{{ home }}'
        and coalesce(trim(form), '') <> ''

),

name_hits as (

    -- every country name inside the partner's name: Chinese as a substring, English as a whole word
    -- (a cheap substring test first)
    select
        partners.record_version_id,
        partners.partner_index,
        country_forms.country_iso3,
        country_forms.form_key,
        case
            when country_forms.language = 'zh'
                then starts_with(partners.partner_key, country_forms.form_key)
            else regexp_matches(partners.partner_key, '^' || {{ regex_escape('country_forms.form_key') }} || '(\W|$)')
        end as is_prefix

    from partners
    inner join country_forms
        on contains(partners.partner_key, country_forms.form_key)
    where (
        country_forms.language = 'zh'
        or regexp_matches(partners.partner_key, {{ english_term_pattern('country_forms.form_key') }})
    )
    -- "New" before a country's name names another place (新墨西哥大学, University of New Mexico,
    -- New South Wales): not that country. A real "New …" country (New Zealand, 新西兰) is a form itself.
    and not contains(
        partners.partner_key,
        case when country_forms.language = 'zh' then '新' else 'new ' end || country_forms.form_key
    )

),

shadowed_hits as (

    -- a name inside a longer country name found in the same partner name is not a country of its
    -- own: 印度 in 印度尼西亚, 香港 in 中国香港, 'Guinea' in 'Papua New Guinea'
    select distinct
        shorter.record_version_id,
        shorter.partner_index,
        shorter.form_key

    from name_hits as shorter
    inner join name_hits as longer
        on shorter.record_version_id = longer.record_version_id
        and shorter.partner_index = longer.partner_index
        and length(shorter.form_key) < length(longer.form_key)
        and contains(longer.form_key, shorter.form_key)

),

name_hits_kept as (

    select name_hits.*

    from name_hits
    left join shadowed_hits
        on name_hits.record_version_id = shadowed_hits.record_version_id
        and name_hits.partner_index = shadowed_hits.partner_index
        and name_hits.form_key = shadowed_hits.form_key
    where shadowed_hits.form_key is null

),

prefix_hits as (

    select
        *,
        max(length(form_key)) over (partition by record_version_id, partner_index) as longest_form

    from name_hits_kept
    where is_prefix

),

prefix_matches as (

    -- the longest prefix decides: two countries named by prefixes of one length are ambiguous
    select
        record_version_id,
        partner_index,
        count(distinct country_iso3) as countries,
        min(country_iso3) as country_iso3,
        string_agg(distinct country_iso3, ',' order by country_iso3) as candidates

    from prefix_hits
    where length(form_key) = longest_form
    group by record_version_id, partner_index

),

contained_matches as (

    select
        record_version_id,
        partner_index,
        count(distinct country_iso3) as countries,
        min(country_iso3) as country_iso3,
        string_agg(distinct country_iso3, ',' order by country_iso3) as candidates

    from name_hits_kept
    group by record_version_id, partner_index

),

resolved as (

    select
        partners.record_version_id,
        partners.partner_index,
        partners.partner_name,
        partners.partner_key,
        case
            when partners.partner_name is null then null
            when seed_matches.countries is not null
                then case when seed_matches.countries = 1 then seed_matches.country_iso3 end
            when prefix_matches.countries is not null
                then case when prefix_matches.countries = 1 then prefix_matches.country_iso3 end
            when contained_matches.countries = 1 then contained_matches.country_iso3
        end as country_iso3,
        case
            when partners.partner_name is null then null
            when seed_matches.countries is not null
                then case when seed_matches.countries = 1 then 'partner_seed' end
            when prefix_matches.countries is not null
                then case when prefix_matches.countries = 1 then 'country_name_prefix' end
            when contained_matches.countries = 1 then 'country_name_contained'
        end as resolved_by,
        case
            when partners.partner_name is null then 'no_partner_named'
            when seed_matches.countries is not null
                then case when seed_matches.countries > 1 then 'partner_seed_names_several_countries' end
            when prefix_matches.countries is not null
                then case when prefix_matches.countries > 1 then 'name_starts_with_several_countries' end
            when contained_matches.countries > 1 then 'name_contains_several_countries'
            when contained_matches.countries is null then 'unknown_partner'
        end as quarantine_reason,
        coalesce(seed_matches.candidates, prefix_matches.candidates, contained_matches.candidates)
            as candidate_countries

    from partners
    left join seed_matches
        on partners.record_version_id = seed_matches.record_version_id
        and partners.partner_index = seed_matches.partner_index
    left join prefix_matches
        on partners.record_version_id = prefix_matches.record_version_id
        and partners.partner_index = prefix_matches.partner_index
    left join contained_matches
        on partners.record_version_id = contained_matches.record_version_id
        and partners.partner_index = contained_matches.partner_index

)

select * from resolved
