-- One row per report, goal, conversion, touch and credit model: the share of
-- the conversion each touch earns under each model. With n touches numbered
-- 1..n by receipt time:
--   first_touch     1 for touch 1, else 0
--   last_touch      1 for touch n, else 0
--   linear          1 / n each
--   position_based  n = 1: 1; n = 2: 1/2 each; n >= 3: 0.4 to the first,
--                   0.4 to the last and 0.2 / (n - 2) to each middle touch
--   time_decay      w_i / sum(w), w_i = 0.5 ^ (h_i / half_life_hours), h_i
--                   the hours from receipt i to the conversion
-- Every credit, and so every conversion's credits, is independent of the
-- report's credit_mode.
--
-- Partitioned like the touches it reads: a daily run replaces the credit of
-- the conversions in its attribution scope (macros/partition_scope.sql).
-- Besides the scope, it redoes every conversion of a person whose messages
-- the run derived again: their receipts may have moved by more than the
-- scope (in_rederived_conversions).
-- The attribution scope reads the windows:
-- depends_on: {{ ref('stg_report_channel_windows') }}
-- The persons whose messages the run derived again:
-- depends_on: {{ ref('int_rederived_persons') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    tags=['partitioned'],
    pre_hook="{{ delete_conversions_in_scope() }}",
) }}

with

touches as (

    select * from {{ ref('int_conversion_touches') }}
    {% if is_partitioned_run() %}
        where {{ in_rederived_conversions() }}
    {% endif %}

),

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

credit_models as (

    {{ credit_models_relation() }}

),

-- The hours are measured from the latest touch, which gets weight 1: the
-- shares are the same (the common factor cancels in the normalisation),
-- but a long lookback over a short half-life can no longer underflow every
-- weight to 0 and leave nothing to divide by.
decay_weights as (

    select
        touches.*,
        reports.half_life_hours,
        reports.definition_hash as report_hash,
        power(
            cast(0.5 as {{ type_double() }}),
            (
                touches.hours_before_conversion
                - min(touches.hours_before_conversion) over (
                    partition by
                        touches.report,
                        touches.goal,
                        touches.conversion_id
                )
            ) / reports.half_life_hours
        ) as decay_weight
    from touches
    inner join reports
        on touches.report = reports.report

),

decay_shares as (

    select
        *,
        decay_weight / sum(decay_weight) over (
            partition by report, goal, conversion_id
        ) as decay_share
    from decay_weights

),

-- Every model's share of a touch is a column of the touch's row, not a row of
-- its own: the sums below then read each touch once instead of once per
-- model, and the rows are multiplied by the models only at the end.
exact_credits as (

    select
        *,
        cast(
            case when touch_number = 1 then 1 else 0 end
            as {{ type_double() }}
        ) as first_touch_exact,
        cast(
            case when touch_number = touch_count then 1 else 0 end
            as {{ type_double() }}
        ) as last_touch_exact,
        cast(1 as {{ type_double() }}) / touch_count as linear_exact,
        cast(
            case
                when touch_count = 1 then 1
                when touch_count = 2 then 0.5
                when touch_number = 1 or touch_number = touch_count then 0.4
                else cast(0.2 as {{ type_double() }}) / (touch_count - 2)
            end
            as {{ type_double() }}
        ) as position_based_exact,
        decay_share as time_decay_exact
    from decay_shares

),

-- Each share is kept to six decimals. Rounded one by one, a conversion's
-- shares could add up to 0.999999 or 1.000001 (three linear touches are
-- 0.333333 each), so every touch but the last is rounded and the last takes
-- what is left: in decimal arithmetic the shares then add up to exactly 1,
-- and the value credits to exactly the conversion's value. The last touch
-- absorbs at most half a millionth per other touch.
rounded_credits as (

    select
        *,
        {% for credit_model in credit_model_names() %}
            cast({{ credit_model }}_exact as numeric(28, 6))
                as {{ credit_model }}_rounded,
            cast(
                cast({{ credit_model }}_exact as numeric(28, 6))
                * conversion_value
                as numeric(28, 6)
            ) as {{ credit_model }}_value_rounded
            {%- if not loop.last %},{% endif %}
        {% endfor %}
    from exact_credits

),

balanced_credits as (

    select
        *,
        {% for credit_model in credit_model_names() %}
            case
                when touch_number < touch_count
                    then {{ credit_model }}_rounded
                else 1 - coalesce(sum(
                    case
                        when touch_number < touch_count
                            then {{ credit_model }}_rounded
                    end
                ) over (partition by report, goal, conversion_id), 0)
            end as {{ credit_model }}_credit,
            case
                when touch_number < touch_count
                    then {{ credit_model }}_value_rounded
                else conversion_value - coalesce(sum(
                    case
                        when touch_number < touch_count
                            then {{ credit_model }}_value_rounded
                    end
                ) over (partition by report, goal, conversion_id), 0)
            end as {{ credit_model }}_value_credit
            {%- if not loop.last %},{% endif %}
        {% endfor %}
    from rounded_credits

),

-- One row per credit model of each touch, with the model's columns.
credit_rows as (

    select
        balanced_credits.*,
        credit_models.credit_model
    from balanced_credits
    cross join credit_models

),

final as (

    select
        report,
        goal,
        conversion_id,
        credit_model,
        cast(touch_number as {{ dbt.type_int() }}) as touch_number,
        cast(touch_count as {{ dbt.type_int() }}) as touch_count,
        report_hash,
        person_id,
        message_id,
        campaign_id,
        received_channel,
        received_at,
        converted_at,
        hours_before_conversion,
        cast(lookback_hours as {{ dbt.type_int() }}) as lookback_hours,
        cast(half_life_hours as {{ dbt.type_int() }}) as half_life_hours,
        cast(conversion_value as numeric(28, 6)) as conversion_value,
        cast(
            case credit_model
                {% for credit_model in credit_model_names() %}
                    when '{{ credit_model }}' then {{ credit_model }}_credit
                {% endfor %}
            end
            as numeric(28, 6)
        ) as credit,
        cast(
            case credit_model
                {% for credit_model in credit_model_names() %}
                    when '{{ credit_model }}'
                        then {{ credit_model }}_value_credit
                {% endfor %}
            end
            as numeric(28, 6)
        ) as value_credit
    from credit_rows

)

select * from final
