{#
    The role analysts use on PostgreSQL: the var analyst_role, else
    $CAMPAIGN_REPORT_ANALYST_ROLE, else analyst. dbt_project.yml gives the
    marts' select grant to the same role (it cannot call a macro, so it
    repeats this expression).
#}
{% macro analyst_role() -%}
    {{ return(var(
        'analyst_role', env_var('CAMPAIGN_REPORT_ANALYST_ROLE', 'analyst')
    )) }}
{%- endmacro %}

{#
    The on-run-end hook: a select grant on a table is of no use without
    usage on its schema. Only the marts schema is granted, so the raw,
    staging, intermediate, reference and udf schemas stay closed to the
    role. Nothing to do on warehouses without grants.
#}
{% macro grant_marts_usage() -%}
    {{ return(adapter.dispatch('grant_marts_usage', 'campaign_report')()) }}
{%- endmacro %}

{% macro default__grant_marts_usage() -%}
{%- endmacro %}

{% macro postgres__grant_marts_usage() -%}
create schema if not exists marts;
grant usage on schema marts to {{ analyst_role() }};
{%- endmacro %}
