{#
    Cast that yields NULL instead of failing on a value that does not fit.
    dbt.safe_cast is a plain cast on DuckDB, where one bad value in millions
    would fail the whole build.
#}
{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'campaign_report')(
        expression, data_type
    )) }}
{%- endmacro %}

{% macro default__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}
