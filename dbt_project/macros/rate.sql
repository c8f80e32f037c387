{#
    A share of a count, as a double, or NULL when the denominator is zero:
    a campaign that reached nobody has no rate, not a rate of 0.
#}
{% macro rate(numerator, denominator) -%}
    case
        when {{ denominator }} = 0 then null
        else cast({{ numerator }} as {{ type_double() }}) / {{ denominator }}
    end
{%- endmacro %}
