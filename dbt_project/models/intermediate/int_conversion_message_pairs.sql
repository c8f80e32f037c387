-- One row per report, goal, conversion and received message of the same
-- person whose direct or indirect window covers the conversion. A message's
-- windows depend on the channel it was received on and on the anchor: the
-- first click (direct) or the receipt (indirect). Windows are half-open,
-- (anchor, anchor + window]: a conversion at the anchor's instant, or
-- before it, is never credited. Only campaigns inside the report's target
-- appear.
--
-- Partitioned: a daily run derives again the pairs of every conversion in
-- its attribution scope (macros/partition_scope.sql) and replaces them.
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

conversions as (

    select * from {{ ref('int_goal_conversions') }}
    {% if is_partitioned_run() %}
        where {{ in_rederived_conversions() }}
    {% endif %}

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

windows as (

    select
        messages.*,
        report_campaigns.report,
        channel_windows.direct_window_hours,
        channel_windows.indirect_window_hours,
        {{ dbt.dateadd(
            'hour',
            'channel_windows.indirect_window_hours',
            'messages.received_at'
        ) }} as receipt_window_end,
        {{ dbt.dateadd(
            'hour',
            'channel_windows.direct_window_hours',
            'messages.first_clicked_at'
        ) }} as click_window_end
    from messages
    inner join report_campaigns
        on messages.campaign_id = report_campaigns.campaign_id
    inner join channel_windows
        on
            report_campaigns.report = channel_windows.report
            and messages.received_channel = channel_windows.channel

),

-- A click can be logged before the delivery receipt, so the span in which a
-- conversion can be credited starts at the earlier anchor and ends at the
-- later window end.
spans as (

    select
        *,
        case
            when first_clicked_at < received_at then first_clicked_at
            else received_at
        end as span_start,
        case
            when click_window_end > receipt_window_end then click_window_end
            else receipt_window_end
        end as span_end
    from windows

),

-- A range join on person and time; the flags then say which window holds.
pairs as (

    select
        conversions.report,
        conversions.goal,
        conversions.conversion_id,
        conversions.person_id,
        conversions.converted_at,
        conversions.conversion_value,
        spans.campaign_id,
        spans.message_id,
        spans.received_channel,
        spans.direct_window_hours,
        spans.indirect_window_hours,
        spans.received_at,
        spans.first_clicked_at,
        (
            conversions.converted_at > spans.received_at
            and conversions.converted_at <= spans.receipt_window_end
        ) as in_receipt_window,
        coalesce(
            conversions.converted_at > spans.first_clicked_at
            and conversions.converted_at <= spans.click_window_end,
            false
        ) as is_direct
    from conversions
    inner join spans
        on
            conversions.report = spans.report
            and conversions.person_id = spans.person_id
            and conversions.converted_at > spans.span_start
            and conversions.converted_at <= spans.span_end

),

final as (

    select
        *,
        -- Every direct conversion is also indirect.
        (in_receipt_window or is_direct) as is_indirect
    from pairs
    where in_receipt_window or is_direct

)

select * from final
