-- One row per report and campaign it covers. A report's target narrows its
-- campaigns by channel and by the reporting date of their first send, in
-- the report's time zone; a campaign outside the target has no rows in the
-- report and cannot take credit in it.
with

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

target_channels as (

    select * from {{ ref('stg_report_target_channels') }}

),

messages as (

    select * from {{ ref('int_message_receipts') }}

),

first_sends as (

    select
        campaign_id,
        min(sent_at) as first_sent_at
    from messages
    group by campaign_id

),

reports_with_channel_target as (

    select distinct report from target_channels

),

dated as (

    select
        reports.report,
        reports.sent_from_date,
        reports.sent_to_date,
        campaigns.campaign_id,
        campaigns.channel,
        first_sends.first_sent_at,
        {{ to_local_date('first_sends.first_sent_at', 'reports.timezone') }}
            as first_sent_date
    from reports
    cross join campaigns
    left join first_sends
        on campaigns.campaign_id = first_sends.campaign_id

),

final as (

    select
        dated.report,
        dated.campaign_id,
        dated.first_sent_at,
        dated.first_sent_date
    from dated
    left join reports_with_channel_target
        on dated.report = reports_with_channel_target.report
    left join target_channels
        on
            dated.report = target_channels.report
            and dated.channel = target_channels.channel
    where
        (
            reports_with_channel_target.report is null
            or target_channels.channel is not null
        )
        -- A campaign that never sent has no first-send date, so a date
        -- target leaves it out.
        and (
            dated.sent_from_date is null
            or dated.first_sent_date >= dated.sent_from_date
        )
        and (
            dated.sent_to_date is null
            or dated.first_sent_date <= dated.sent_to_date
        )

)

select * from final
