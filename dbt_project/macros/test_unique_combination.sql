{#
    Generic test: no two rows share the same values in all of `columns`.
    Our own, because the package hub (and dbt_utils) is out of reach.
#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as copies
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
