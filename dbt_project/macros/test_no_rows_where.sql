{#
    Generic test: no row of the model meets `condition`. With severity warn
    it flags rows a person should look at without stopping the build, such
    as a message with events but no send.
#}
{% test no_rows_where(model, condition) %}

select *
from {{ model }}
where {{ condition }}

{% endtest %}
