{#
    Use the custom schema name as it is (staging, intermediate, marts) instead
    of prefixing it with the target schema, so analysts find the marts in a
    schema called marts on every warehouse.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
