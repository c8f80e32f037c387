{#
    What a data test reads of the model it tests. dbt's own version applies
    the test's `where` config; this one also narrows the tests of the
    partitioned tables, in a daily run, to the rows the run wrote: those of
    the run's landing folders in the tables partitioned by delivery day, and
    the conversions of the run's attribution scope in those partitioned by
    conversion. A daily run then tests what it delivered, in time that
    follows the day's size rather than the history's.

    What the narrowing gives up: a test that compares rows (unique, say)
    only compares the run's rows among themselves, and the rows a daily run
    judged again from earlier days are not tested. The rules themselves keep
    those guarantees (one staged copy per event_id over all days); a full
    build, or a backfill of the days, tests every row.

    dbt calls this macro by this name for every generic data test, so the
    project's version replaces the built-in one.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append(where) -%}
    {%- endif -%}
    {%- if relation.identifier in delivery_partitioned_tables()
        and has_partition_vars() -%}
        {%- do conditions.append(delivered_in_partition()) -%}
    {%- elif relation.identifier in conversion_partitioned_tables()
        and has_partition_vars() -%}
        {%- do conditions.append(
            in_attribution_scope('converted_at', declared=false)
        ) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (
                select * from {{ relation }}
                where ({{ conditions | join(') and (') }})
            ) as dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{#
    The models whose rows a daily run writes by delivery day, and the views
    that keep their staged rows (the product events also with their stitched
    person); each has the column _landing_date.
#}
{% macro delivery_partitioned_tables() -%}
    {{ return([
        'base_message_events',
        'base_product_events',
        'stg_message_events',
        'stg_product_events',
        'int_person_product_events',
    ]) }}
{%- endmacro %}

{#
    The models whose rows a daily run writes by conversion: each replaces
    the conversions of the run's attribution scope and has converted_at.
#}
{% macro conversion_partitioned_tables() -%}
    {{ return([
        'int_conversion_message_pairs',
        'int_attributed_conversions',
        'fct_attributed_conversions',
        'int_conversion_touches',
        'fct_conversion_credit',
    ]) }}
{%- endmacro %}
