with

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

channel_capabilities as (

    select * from {{ ref('channel_capabilities') }}

),

messages as (

    select * from {{ ref('int_message_receipts') }}

),

send_span as (

    select
        campaign_id,
        min(sent_at) as first_sent_at,
        max(sent_at) as last_sent_at
    from messages
    group by campaign_id

),

final as (

    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.message_type,
        campaigns.created_at,
        coalesce(channel_capabilities.tracks_opens, false) as tracks_opens,
        send_span.first_sent_at,
        send_span.last_sent_at
    from campaigns
    left join channel_capabilities
        on campaigns.channel = channel_capabilities.channel
    left join send_span
        on campaigns.campaign_id = send_span.campaign_id

)

select * from final
