-- One row per report, goal, conversion and touch: a message of a campaign in
-- the report's target, received by the converting person before the
-- conversion and no longer before it than the lookback, counted from the
-- receipt. The lookback is the report's own when it sets one, else the
-- indirect window of the channel the message was received on. The span is
-- half-open like every window here: (receipt, receipt + lookback].
--
-- A touch is not used up by a conversion: a message that precedes two
-- conversions of the same person is a touch of both.
--
-- Partitioned like the pairs: a daily run derives again the touches of
-- every conversion in its attribution scope (macros/partition_scope.sql),
-- which reaches the longest lookback after the run's days, and replaces
-- them.
-- Besides the scope, it redoes every conversion of a person whose messages
-- the run derived again: their receipts may have moved by more than the
-- scope (in_rederived_conversions).
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

conversions as (

    select * from {{ ref('int_goal_conversions') }}
    {% if is_partitioned_run() %}
        where {{ in_rederived_conversions() }}
    {% endif %}

),

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

report_campaigns as (

    select * from {{ ref('int_report_campaigns') }}

),

channel_windows as (

    select * from {{ ref('stg_report_channel_windows') }}

),

messages as (

    select * from {{ ref('int_message_receipts') }}
    where is_received

),

lookbacks as (

    select
        report_campaigns.report,
        messages.message_id,
        messages.campaign_id,
        messages.person_id,
        messages.received_channel,
        messages.received_at,
        coalesce(
            reports.lookback_hours, channel_windows.indirect_window_hours
        ) as lookback_hours
    from messages
    inner join report_campaigns
        on messages.campaign_id = report_campaigns.campaign_id
    inner join reports
        on report_campaigns.report = reports.report
    inner join channel_windows
        on
            report_campaigns.report = channel_windows.report
            and messages.received_channel = channel_windows.channel

),

spans as (

    select
        *,
        {{ dbt.dateadd('hour', 'lookback_hours', 'received_at') }}
            as lookback_end
    from lookbacks

),

touches as (

    select
        conversions.report,
        conversions.goal,
        conversions.conversion_id,
        conversions.person_id,
        conversions.converted_at,
        conversions.conversion_value,
        spans.message_id,
        spans.campaign_id,
        spans.received_channel,
        spans.received_at,
        spans.lookback_hours,
        cast(
            {{ dbt.datediff('spans.received_at', 'conversions.converted_at',
                'second') }}
            as {{ type_double() }}
        ) / 3600 as hours_before_conversion
    from conversions
    inner join spans
        on
            conversions.report = spans.report
            and conversions.person_id = spans.person_id
            and conversions.converted_at > spans.received_at
            and conversions.converted_at <= spans.lookback_end

),

final as (

    select
        *,
        -- Receipts at the same instant are ordered by message id so that
        -- the first and last touch never depend on the engine's whim.
        row_number() over (
            partition by report, goal, conversion_id
            order by received_at, message_id
        ) as touch_number,
        count(*) over (
            partition by report, goal, conversion_id
        ) as touch_count
    from touches

)

select * from final
