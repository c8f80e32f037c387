-- One row per report, campaign, goal and send date, with the counts behind
-- the daily and performance marts. Each person counts on the
-- reporting-timezone date of their first send of the campaign, with their
-- messages and conversions; since every person has exactly one such date, a
-- campaign's days add up to the campaign exactly.
with

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

goals as (

    select * from {{ ref('stg_report_goals') }}

),

report_campaigns as (

    select * from {{ ref('int_report_campaigns') }}

),

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

channel_capabilities as (

    select * from {{ ref('channel_capabilities') }}

),

recipients as (

    select * from {{ ref('int_campaign_recipients') }}

),

attributed as (

    select * from {{ ref('int_attributed_conversions') }}

),

recipient_reports as (

    select
        report_campaigns.report,
        reports.timezone,
        recipients.campaign_id,
        recipients.person_id,
        {{ quarter_hour_floor('recipients.first_sent_at') }}
            as first_sent_quarter_hour,
        recipients.messages_sent,
        recipients.was_received,
        recipients.was_received_by_fallback,
        recipients.was_opened,
        recipients.was_clicked
    from recipients
    inner join report_campaigns
        on recipients.campaign_id = report_campaigns.campaign_id
    inner join reports
        on report_campaigns.report = reports.report

),

-- The local date of each distinct quarter hour, not of each recipient: a
-- time-zone conversion per row cost more than the rest of this model.
send_dates as (

    select
        report,
        first_sent_quarter_hour,
        {{ to_local_date('first_sent_quarter_hour', 'timezone') }}
            as send_date
    from (
        select distinct
            report,
            timezone,
            first_sent_quarter_hour
        from recipient_reports
    ) as quarter_hours

),

recipient_dates as (

    select
        recipient_reports.report,
        recipient_reports.campaign_id,
        recipient_reports.person_id,
        send_dates.send_date,
        recipient_reports.messages_sent,
        recipient_reports.was_received,
        recipient_reports.was_received_by_fallback,
        recipient_reports.was_opened,
        recipient_reports.was_clicked
    from recipient_reports
    inner join send_dates
        on
            recipient_reports.report = send_dates.report
            and recipient_reports.first_sent_quarter_hour
            = send_dates.first_sent_quarter_hour

),

reach as (

    select
        report,
        campaign_id,
        send_date,
        count(*) as recipients,
        sum(messages_sent) as messages_sent,
        sum(case when was_received then 1 else 0 end) as received,
        sum(case when was_received_by_fallback then 1 else 0 end)
            as received_by_fallback,
        sum(case when was_opened then 1 else 0 end) as opened,
        sum(case when was_clicked then 1 else 0 end) as clicked
    from recipient_dates
    group by report, campaign_id, send_date

),

conversion_types as (

    select
        report,
        goal,
        campaign_id,
        conversion_id,
        person_id,
        conversion_value,
        max(case when attribution_type = 'direct' then 1 else 0 end)
            as is_direct
    from attributed
    group by
        report, goal, campaign_id, conversion_id, person_id, conversion_value

),

conversions as (

    select
        conversion_types.report,
        conversion_types.goal,
        conversion_types.campaign_id,
        recipient_dates.send_date,
        count(
            distinct case
                when conversion_types.is_direct = 1
                    then conversion_types.person_id
            end
        ) as direct_converters,
        sum(conversion_types.is_direct) as direct_conversions,
        sum(
            case
                when conversion_types.is_direct = 1
                    then conversion_types.conversion_value
            end
        ) as direct_value,
        count(distinct conversion_types.person_id) as indirect_converters,
        count(*) as indirect_conversions,
        sum(conversion_types.conversion_value) as indirect_value,
        count(
            distinct case
                when conversion_types.is_direct = 0
                    then conversion_types.person_id
            end
        ) as view_through_converters
    from conversion_types
    inner join recipient_dates
        on
            conversion_types.report = recipient_dates.report
            and conversion_types.campaign_id = recipient_dates.campaign_id
            and conversion_types.person_id = recipient_dates.person_id
    group by
        conversion_types.report,
        conversion_types.goal,
        conversion_types.campaign_id,
        recipient_dates.send_date

),

final as (

    select
        reach.report,
        reach.campaign_id,
        goals.goal,
        reach.send_date,
        coalesce(channel_capabilities.tracks_opens, false) as tracks_opens,
        reach.recipients,
        reach.messages_sent,
        reach.received,
        reach.received_by_fallback,
        reach.recipients - reach.received as failed,
        reach.opened,
        reach.clicked,
        coalesce(conversions.direct_converters, 0) as direct_converters,
        coalesce(conversions.direct_conversions, 0) as direct_conversions,
        coalesce(conversions.direct_value, 0) as direct_value,
        coalesce(conversions.indirect_converters, 0) as indirect_converters,
        coalesce(conversions.indirect_conversions, 0) as indirect_conversions,
        coalesce(conversions.indirect_value, 0) as indirect_value,
        coalesce(conversions.view_through_converters, 0)
            as view_through_converters
    from reach
    inner join goals
        on reach.report = goals.report
    inner join campaigns
        on reach.campaign_id = campaigns.campaign_id
    left join channel_capabilities
        on campaigns.channel = channel_capabilities.channel
    left join conversions
        on
            reach.report = conversions.report
            and goals.goal = conversions.goal
            and reach.campaign_id = conversions.campaign_id
            and reach.send_date = conversions.send_date

)

select * from final
