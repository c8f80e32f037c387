{#
    A 64-bit hash of a text key, for grouping many rows by a long text id
    with less memory: a group keyed by eight bytes instead of the text. Two
    ids can share a hash, so a hash only ever narrows rows down to
    candidates; every model that uses one compares the ids themselves among
    the candidates before it decides anything.
#}
{% macro key_hash(expression) -%}
    {{ return(adapter.dispatch('key_hash', 'campaign_report')(expression)) }}
{%- endmacro %}

{% macro default__key_hash(expression) -%}
    hash({{ expression }})
{%- endmacro %}

{% macro postgres__key_hash(expression) -%}
    hashtextextended({{ expression }}, 0)
{%- endmacro %}

{#
    Written after `as` in a CTE that several later CTEs read: the query
    planner then recomputes it for each reader, keeping only the columns
    that reader needs, instead of holding every column of every row in
    memory at once. Worth it where the CTE is wide and long, and its readers
    mostly need a few narrow columns.
#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'campaign_report')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro postgres__not_materialized() -%}
    not materialized
{%- endmacro %}
