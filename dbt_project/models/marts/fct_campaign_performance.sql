-- One row per report, campaign and goal: reach, direct and indirect
-- conversions and their rates, every campaign in the report's target
-- measured on the same criteria. The counts are the campaign's send dates
-- added up, so they equal fct_campaign_daily summed over dates.
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

    select * from {{ ref('dim_campaigns') }}

),

channel_windows as (

    select * from {{ ref('stg_report_channel_windows') }}

),

daily_counts as (

    select * from {{ ref('int_campaign_daily_counts') }}

),

totals as (

    select
        report,
        campaign_id,
        goal,
        sum(recipients) as recipients,
        sum(messages_sent) as messages_sent,
        sum(received) as received,
        sum(received_by_fallback) as received_by_fallback,
        sum(failed) as failed,
        sum(opened) as opened,
        sum(clicked) as clicked,
        sum(direct_converters) as direct_converters,
        sum(direct_conversions) as direct_conversions,
        sum(direct_value) as direct_value,
        sum(indirect_converters) as indirect_converters,
        sum(indirect_conversions) as indirect_conversions,
        sum(indirect_value) as indirect_value,
        sum(view_through_converters) as view_through_converters
    from daily_counts
    group by report, campaign_id, goal

),

measured as (

    select
        report_campaigns.report,
        report_campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        goals.goal,
        reports.credit_mode,
        reports.definition_hash as report_hash,
        reports.window_hours,
        channel_windows.direct_window_hours,
        channel_windows.indirect_window_hours,
        report_campaigns.first_sent_at,
        report_campaigns.first_sent_date,
        campaigns.tracks_opens,
        coalesce(totals.recipients, 0) as recipients,
        coalesce(totals.messages_sent, 0) as messages_sent,
        coalesce(totals.received, 0) as received,
        coalesce(totals.received_by_fallback, 0) as received_by_fallback,
        coalesce(totals.failed, 0) as failed,
        coalesce(totals.opened, 0) as opened,
        coalesce(totals.clicked, 0) as clicked,
        coalesce(totals.direct_converters, 0) as direct_converters,
        coalesce(totals.direct_conversions, 0) as direct_conversions,
        coalesce(totals.direct_value, 0) as direct_value,
        coalesce(totals.indirect_converters, 0) as indirect_converters,
        coalesce(totals.indirect_conversions, 0) as indirect_conversions,
        coalesce(totals.indirect_value, 0) as indirect_value,
        coalesce(totals.view_through_converters, 0) as view_through_converters
    from report_campaigns
    inner join reports
        on report_campaigns.report = reports.report
    inner join goals
        on report_campaigns.report = goals.report
    inner join campaigns
        on report_campaigns.campaign_id = campaigns.campaign_id
    left join channel_windows
        on
            report_campaigns.report = channel_windows.report
            and campaigns.channel = channel_windows.channel
    left join totals
        on
            report_campaigns.report = totals.report
            and report_campaigns.campaign_id = totals.campaign_id
            and goals.goal = totals.goal

),

final as (

    select
        report,
        campaign_id,
        campaign_name,
        channel,
        goal,
        credit_mode,
        report_hash,
        window_hours,
        direct_window_hours,
        indirect_window_hours,
        first_sent_at,
        first_sent_date,
        {{ campaign_counts() }},
        {{ campaign_rates() }}
    from measured

)

select * from final
