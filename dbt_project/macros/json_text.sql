{#
    The text of one top-level key of a JSON object held in a text column, or
    NULL when the key is absent. The key is an expression, usually a column
    of the report configuration, so that goals are data, not generated SQL.
    Numbers come back as their JSON text (39000, 12.5), booleans as true or
    false.
#}
{% macro json_text(json_column, key_expression) -%}
    {{ return(adapter.dispatch('json_text', 'campaign_report')(
        json_column, key_expression
    )) }}
{%- endmacro %}

{% macro default__json_text(json_column, key_expression) -%}
    json_extract_string(
        {{ json_column }}, '$."' || {{ key_expression }} || '"'
    )
{%- endmacro %}

{% macro postgres__json_text(json_column, key_expression) -%}
    (cast({{ json_column }} as jsonb) ->> {{ key_expression }})
{%- endmacro %}
