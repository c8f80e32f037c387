{#
    Generic test: within each group of `group_by`, `column` adds up to
    `expected`, an aggregate expression over the group such as 1 or
    max(conversion_value). Groups whose expected total is NULL are not
    checked. The comparison is exact, so the column should be a decimal:
    a float sum depends on the order of its terms.
#}
{% test sums_to(model, group_by, column, expected) %}

select
    {{ group_by | join(', ') }},
    sum({{ column }}) as actual_total,
    {{ expected }} as expected_total
from {{ model }}
group by {{ group_by | join(', ') }}
having sum({{ column }}) != {{ expected }}

{% endtest %}
