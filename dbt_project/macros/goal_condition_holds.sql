{#
    Whether one goal condition holds for one event. A number in the config is
    compared as a number when the property is numeric too ("39000" = 39000);
    otherwise equality compares the text. Order comparisons are numeric only.
#}
{% macro goal_condition_holds(events, conditions) -%}
    {%- set property_text = json_text(
        events ~ '.properties', conditions ~ '.property'
    ) -%}
    {%- set property_number = try_cast(
        property_text, type_double()
    ) -%}
    {%- set value_number = conditions ~ '.value_number' -%}
    {%- set value_text = conditions ~ '.value_text' -%}
    {%- set op = conditions ~ '.op' -%}
    case
        when ({{ property_text }}) is null then false
        when {{ op }} in ('=', '!=')
            then (
                case
                    when
                        {{ value_number }} is not null
                        and ({{ property_number }}) is not null
                        then ({{ property_number }}) = {{ value_number }}
                    else ({{ property_text }}) = {{ value_text }}
                end
            ) = ({{ op }} = '=')
        when ({{ property_number }}) is null then false
        when {{ op }} = '>' then ({{ property_number }}) > {{ value_number }}
        when {{ op }} = '>=' then ({{ property_number }}) >= {{ value_number }}
        when {{ op }} = '<' then ({{ property_number }}) < {{ value_number }}
        when {{ op }} = '<=' then ({{ property_number }}) <= {{ value_number }}
        else false
    end
{%- endmacro %}
