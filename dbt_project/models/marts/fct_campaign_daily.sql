-- One row per report, campaign, goal and send date (reporting time zone):
-- each person counts on the date of their first send of the campaign, so a
-- campaign's days add up exactly to its row in fct_campaign_performance.
with

daily_counts as (

    select * from {{ ref('int_campaign_daily_counts') }}

),

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

final as (

    select
        daily_counts.report,
        daily_counts.campaign_id,
        daily_counts.goal,
        daily_counts.send_date,
        reports.credit_mode,
        reports.definition_hash as report_hash,
        {{ campaign_counts() }},
        {{ campaign_rates() }}
    from daily_counts
    inner join reports
        on daily_counts.report = reports.report

)

select * from final
