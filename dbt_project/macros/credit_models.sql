{#
    The shared-credit models, in the order the marts list them. The credit
    marts build one row per model from this list, so a model added here needs
    its rule in fct_conversion_credit (a column named <model>_exact) and its
    name in the accepted_values tests of _marts.yml.
#}
{% macro credit_model_names() -%}
    {{ return([
        'first_touch', 'last_touch', 'linear', 'position_based', 'time_decay',
    ]) }}
{%- endmacro %}

{#
    The models above as a one-column relation, for a CTE body.
#}
{% macro credit_models_relation() -%}
    {%- for credit_model in credit_model_names() %}
    select '{{ credit_model }}' as credit_model
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
