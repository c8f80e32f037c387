{#
    Generic test: every row has a value in at least one of `columns`, such
    as an event that names its person by user id, device id or both.
#}
{% test at_least_one_not_null(model, columns) %}

select *
from {{ model }}
where
    {% for column in columns -%}
        {{ column }} is null{% if not loop.last %} and {% endif %}
    {%- endfor %}

{% endtest %}
