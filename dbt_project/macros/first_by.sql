{#
    An aggregate: `value` from the row that sorts first by the expressions
    in `order_by`, among the rows of the group where `where` holds. The
    order must pick one row (end it with a unique column), so the result
    does not depend on the order the rows were scanned in. It replaces a
    row_number() window and a self-join: one pass of a grouped aggregate
    instead of a sort of every row.
#}
{% macro first_by(value, order_by, where='true') -%}
    {{ return(adapter.dispatch('first_by', 'campaign_report')(
        value, order_by, where
    )) }}
{%- endmacro %}

{# DuckDB compares structs field by field, so a struct is a sort key. #}
{% macro default__first_by(value, order_by, where) -%}
    arg_min(
        {{ value }},
        struct_pack(
            {%- for expression in order_by %}
            k{{ loop.index }} := {{ expression }}
            {%- if not loop.last %},{% endif %}
            {%- endfor %}
        )
    ) filter (where {{ where }})
{%- endmacro %}

{% macro postgres__first_by(value, order_by, where) -%}
    (
        array_agg(
            {{ value }} order by {{ order_by | join(', ') }}
        ) filter (where {{ where }})
    )[1]
{%- endmacro %}
