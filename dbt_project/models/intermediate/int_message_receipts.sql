-- One row per message: who received it, when it was sent, whether, when
-- and on which channel it was received, its first open and click. All the
-- events sharing a message_id are one message, whatever channel each was
-- on; holdout events are not messages and are left out.
--
-- Partitioned: a daily run derives again every message whose events it
-- judged, and every message of a campaign without receipts (new, or just
-- dropped by the pre-hook for a change), from all of that message's
-- events, and replaces those messages' rows (macros/partition_scope.sql).
-- Its cost follows the day's messages, not the history's.
-- The judged messages are found once per run, in int_judged_messages:
-- depends_on: {{ ref('int_judged_messages') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key='message_id',
    tags=['partitioned'],
    pre_hook="{{ delete_judged_messages() }}",
) }}

with

message_events as (

    select * from {{ ref('stg_message_events') }}
    where event_type != 'holdout'
    {% if is_partitioned_run() %}
        and (
            message_id in ({{ judged_messages() }})
            or campaign_id in ({{ campaigns_without_receipts() }})
        )
    {% endif %}

),

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

device_users as (

    select * from {{ ref('int_device_users') }}

),

channel_capabilities as (

    select * from {{ ref('channel_capabilities') }}

),

-- Read twice, once for the few failures only: recomputed for each reader
-- rather than held whole in memory.
events as {{ not_materialized() }} (

    select
        message_events.*,
        -- A Kakao message that fell back to SMS carries channel = sms on its
        -- SMS events; the others are on the campaign's channel.
        coalesce(message_events.channel, campaigns.channel) as event_channel,
        -- Identity stitching: a device later linked to a user is that user,
        -- so the next build re-attributes once the link arrives.
        coalesce(
            message_events.user_id,
            device_users.user_id,
            message_events.device_id
        ) as stitched_person_id
    from message_events
    inner join campaigns
        on message_events.campaign_id = campaigns.campaign_id
    left join device_users
        on message_events.device_id = device_users.device_id

),

failed_channels as (

    select distinct
        message_id,
        event_channel
    from events
    where event_type = 'fail'

),

-- A message is received at its first delivery; without one, at its first
-- send on a channel that reported no failure (push and some SMS routes
-- never confirm delivery), open or click.
receipt_candidates as (

    select
        events.*,
        events.event_type in ('deliver', 'open', 'click')
        or (
            events.event_type = 'send'
            and failed_channels.message_id is null
        ) as is_receipt_candidate,
        {{ receipt_order_key(
            "case when events.event_type = 'deliver' then 1 else 2 end",
            'events.occurred_at',
            'events.event_channel',
        ) }} as receipt_order_key
    from events
    left join failed_channels
        on
            events.message_id = failed_channels.message_id
            and events.event_channel = failed_channels.event_channel

),

message_aggregates as (

    select
        campaign_id,
        message_id,
        -- Events of one message can carry the user on some rows and only
        -- the device on others; the user wins wherever it is known.
        coalesce(
            max(case when user_id is not null then stitched_person_id end),
            max(stitched_person_id)
        ) as person_id,
        min(occurred_at) as first_event_at,
        min(case when event_type = 'send' then occurred_at end)
            as first_send_at,
        min(case when event_type = 'open' then occurred_at end)
            as first_opened_at,
        min(case when event_type = 'click' then occurred_at end)
            as first_clicked_at,
        max(case when event_type = 'fail' then 1 else 0 end) = 1 as has_fail,
        -- The first receipt: the first delivery if there is one (every
        -- delivery is a candidate, and first in priority), else the first
        -- candidate. Two plain minimums, which DuckDB can spill.
        coalesce(
            min(case when event_type = 'deliver' then occurred_at end),
            min(case when is_receipt_candidate then occurred_at end)
        ) as received_at,
        -- Its channel, from the same order packed in one integer
        -- (macros/receipt_order_key.sql). Receipts on two channels at the
        -- same microsecond go to the channel listed first in
        -- accepted_channels().
        min(case when is_receipt_candidate then receipt_order_key end)
            as first_receipt_key,
        {{ dbt.bool_or('is_receipt_candidate') }} as is_received
    from receipt_candidates
    group by campaign_id, message_id

),

per_message as (

    select
        message_aggregates.*,
        {{ receipt_order_channel('message_aggregates.first_receipt_key') }}
            as received_channel
    from message_aggregates

),

final as (

    select
        per_message.message_id,
        per_message.campaign_id,
        per_message.person_id,
        campaigns.channel as campaign_channel,
        per_message.received_channel,
        -- Any event implies the message went out, even when the send event
        -- itself is missing from the logs.
        coalesce(per_message.first_send_at, per_message.first_event_at)
            as sent_at,
        per_message.first_send_at,
        per_message.is_received,
        per_message.received_at,
        per_message.first_opened_at,
        per_message.first_clicked_at,
        per_message.has_fail,
        -- Received on another channel after a failure: the fallback route
        -- delivered what the first channel could not.
        coalesce(
            per_message.has_fail
            and per_message.received_channel != campaigns.channel,
            false
        ) as is_received_by_fallback,
        coalesce(channel_capabilities.tracks_opens, false) as tracks_opens
    from per_message
    inner join campaigns
        on per_message.campaign_id = campaigns.campaign_id
    left join channel_capabilities
        on campaigns.channel = channel_capabilities.channel

)

select * from final
