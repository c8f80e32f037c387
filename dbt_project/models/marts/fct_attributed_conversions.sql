-- One row per report, goal, conversion, credited campaign and attribution
-- type, for drilling down from the performance mart. The crediting rules
-- live in int_attributed_conversions.
--
-- Partitioned like int_attributed_conversions: a daily run replaces the
-- conversions of its attribution scope (macros/partition_scope.sql).
-- Besides the scope, it redoes every conversion of a person whose messages
-- the run derived again: their receipts may have moved by more than the
-- scope (in_rederived_conversions).
-- The attribution scope reads the windows and the lookbacks:
-- depends_on: {{ ref('stg_report_channel_windows') }}
-- depends_on: {{ ref('stg_report_definitions') }}
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

attributed as (

    select * from {{ ref('int_attributed_conversions') }}
    {% if is_partitioned_run() %}
        where {{ in_rederived_conversions() }}
    {% endif %}

),

final as (

    select
        report,
        goal,
        conversion_id,
        campaign_id,
        attribution_type,
        credit_mode,
        report_hash,
        person_id,
        message_id,
        received_channel,
        anchor_at,
        converted_at,
        hours_from_anchor,
        conversion_value
    from attributed

)

select * from final
