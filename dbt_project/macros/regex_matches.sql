{#
    Whether a text contains a match of a regular expression (POSIX-style
    classes only, no backslash escapes, so the pattern reads the same on
    every warehouse).
#}
{% macro regex_matches(text, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'campaign_report')(
        text, pattern
    )) }}
{%- endmacro %}

{% macro default__regex_matches(text, pattern) -%}
    regexp_matches({{ text }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_matches(text, pattern) -%}
    ({{ text }} ~ '{{ pattern }}')
{%- endmacro %}
