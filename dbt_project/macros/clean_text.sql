{#
    Raw text with surrounding blanks removed and empty strings turned into
    NULL, so that an empty CSV cell and a missing JSON key mean the same.
#}
{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}
