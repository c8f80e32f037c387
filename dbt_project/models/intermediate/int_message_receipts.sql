-- One row per message: when it was sent, whether and when it was received,
-- opened and clicked. Holdout events are not messages and are left out.
with

message_events as (

    select * from {{ ref('stg_message_events') }}
    where event_type != 'holdout'

),

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

channel_capabilities as (

    select * from {{ ref('channel_capabilities') }}

),

per_message as (

    select
        campaign_id,
        message_id,
        -- Events of one message can carry the user on some rows and only the
        -- device on others; the user wins wherever it is known.
        coalesce(max(user_id), max(device_id)) as person_id,
        min(occurred_at) as first_event_at,
        min(case when event_type = 'send' then occurred_at end)
            as first_send_at,
        min(case when event_type = 'deliver' then occurred_at end)
            as first_delivered_at,
        min(case when event_type = 'open' then occurred_at end)
            as first_opened_at,
        min(case when event_type = 'click' then occurred_at end)
            as first_clicked_at,
        min(
            case
                when event_type in ('send', 'open', 'click') then occurred_at
            end
        ) as first_send_open_click_at,
        max(case when event_type = 'send' then 1 else 0 end) = 1 as has_send,
        max(case when event_type = 'fail' then 1 else 0 end) = 1 as has_fail,
        -- The channel a message was received on: a Kakao message that fell
        -- back to SMS carries channel = sms on its SMS events.
        max(case when event_type != 'fail' then channel end)
            as event_channel
    from message_events
    group by campaign_id, message_id

),

receipts as (

    select
        *,
        -- Push and some SMS routes never confirm delivery, so a send with no
        -- failure counts as received.
        (
            first_delivered_at is not null
            or first_opened_at is not null
            or first_clicked_at is not null
            or (has_send and not has_fail)
        ) as is_received
    from per_message

),

final as (

    select
        receipts.message_id,
        receipts.campaign_id,
        receipts.person_id,
        coalesce(receipts.event_channel, campaigns.channel)
            as received_channel,
        -- Any event implies the message went out, even when the send event
        -- itself is missing from the logs.
        coalesce(receipts.first_send_at, receipts.first_event_at) as sent_at,
        receipts.is_received,
        case
            when receipts.is_received
                then coalesce(
                    receipts.first_delivered_at,
                    receipts.first_send_open_click_at
                )
        end as received_at,
        receipts.first_opened_at,
        receipts.first_clicked_at,
        receipts.has_fail,
        coalesce(capabilities.tracks_opens, false) as tracks_opens
    from receipts
    inner join campaigns
        on receipts.campaign_id = campaigns.campaign_id
    left join channel_capabilities as capabilities
        on campaigns.channel = capabilities.channel

)

select * from final
