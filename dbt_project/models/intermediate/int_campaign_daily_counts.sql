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

-- Read twice, for the reach and for the converters' send dates: recomputed
-- for each reader rather than held whole in memory.
recipients as {{ not_materialized() }} (

    select * from {{ ref('int_campaign_recipients') }}

),

attributed as (

    select * from {{ ref('int_attributed_conversions') }}

),

-- Reach is counted per campaign and quarter hour of first send before the
-- reports are joined: each recipient belongs to every report of its
-- campaign, and joining the reports first multiplied the recipients (49.5M
-- rows into 116M at 100M message events) only to add them up again.
quarter_hour_reach as (

    select
        campaign_id,
        {{ quarter_hour_floor('first_sent_at') }} as first_sent_quarter_hour,
        count(*) as recipients,
        sum(messages_sent) as messages_sent,
        sum(case when was_received then 1 else 0 end) as received,
        sum(case when was_received_by_fallback then 1 else 0 end)
            as received_by_fallback,
        sum(case when was_opened then 1 else 0 end) as opened,
        sum(case when was_clicked then 1 else 0 end) as clicked
    from recipients
    group by campaign_id, {{ quarter_hour_floor('first_sent_at') }}

),

-- The local date of each campaign's quarter hours in each report, not of
-- each recipient: a time-zone conversion per row cost more than the rest
-- of this model.
report_quarter_hours as (

    select
        report_campaigns.report,
        quarter_hour_reach.*,
        {{ to_local_date(
            'quarter_hour_reach.first_sent_quarter_hour', 'reports.timezone'
        ) }} as send_date
    from quarter_hour_reach
    inner join report_campaigns
        on quarter_hour_reach.campaign_id = report_campaigns.campaign_id
    inner join reports
        on report_campaigns.report = reports.report

),

reach as (

    select
        report,
        campaign_id,
        send_date,
        cast(sum(recipients) as {{ dbt.type_bigint() }}) as recipients,
        cast(sum(messages_sent) as {{ dbt.type_bigint() }}) as messages_sent,
        cast(sum(received) as {{ dbt.type_bigint() }}) as received,
        cast(sum(received_by_fallback) as {{ dbt.type_bigint() }})
            as received_by_fallback,
        cast(sum(opened) as {{ dbt.type_bigint() }}) as opened,
        cast(sum(clicked) as {{ dbt.type_bigint() }}) as clicked
    from report_quarter_hours
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

-- Each credited conversion on its recipient's send date for the campaign.
dated_conversions as (

    select
        conversion_types.*,
        report_quarter_hours.send_date
    from conversion_types
    inner join recipients
        on
            conversion_types.campaign_id = recipients.campaign_id
            and conversion_types.person_id = recipients.person_id
    inner join report_quarter_hours
        on
            conversion_types.report = report_quarter_hours.report
            and conversion_types.campaign_id = report_quarter_hours.campaign_id
            and {{ quarter_hour_floor('recipients.first_sent_at') }}
            = report_quarter_hours.first_sent_quarter_hour

),

conversions as (

    select
        report,
        goal,
        campaign_id,
        send_date,
        count(
            distinct case when is_direct = 1 then person_id end
        ) as direct_converters,
        sum(is_direct) as direct_conversions,
        sum(
            case when is_direct = 1 then conversion_value end
        ) as direct_value,
        count(distinct person_id) as indirect_converters,
        count(*) as indirect_conversions,
        sum(conversion_value) as indirect_value,
        count(
            distinct case when is_direct = 0 then person_id end
        ) as view_through_converters
    from dated_conversions
    group by report, goal, campaign_id, send_date

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
