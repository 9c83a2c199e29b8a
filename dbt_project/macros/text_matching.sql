{% macro regex_escape(expression) -%}
    {#- A term (keyword, country name) taken literally inside a regular expression. -#}
    regexp_replace({{ expression }}, '([.^$|?*+()\[\]{}\\-])', '\\\1', 'g')
{%- endmacro %}

{% macro english_term_pattern(expression, plural=false) -%}
    {#- Case-insensitive whole-term match. Boundaries are "not a letter or digit" rather than \b,
        so a term ending in ')' ('Iran (Islamic Republic of)') or next to Chinese text matches. -#}
    '(?i)(?:^|\W)' || {{ regex_escape(expression) }} || '{{ "s?" if plural }}(?:\W|$)'
{%- endmacro %}
