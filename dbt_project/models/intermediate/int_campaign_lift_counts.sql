-- One row per report, campaign and goal, for campaigns inside the report's
-- target that held at least one person back: the counts that the lift
-- statistics (orchestration/lift.py) are computed from.
--
-- Treatment is the campaign's recipients, as in fct_campaign_performance,
-- and its converters are those with a conversion inside a window of one of
-- the campaign's messages: indirect credit under the independent rule,
-- whatever the report's credit mode, since lift compares the whole effect
-- of being sent to with being held back.
--
-- Control is the persons with a holdout event of the campaign, anchored at
-- their first one, and its converters are those with a conversion in
-- (holdout, holdout + indirect window of the campaign's channel]: the same
-- span a recipient's conversion is counted in from the receipt.
--
-- Known limitations: a person with both a holdout and a message of the
-- campaign (held back in one wave, sent to in the next) counts in both
-- groups; a lift per send wave would fix it. A recipient's conversion also
-- counts inside the direct window after a click, so where a report's
-- direct window is longer than its indirect one, treatment is counted over
-- a slightly longer span than control.
with

message_events as (

    select * from {{ ref('stg_message_events') }}
    where event_type = 'holdout'

),

device_users as (

    select * from {{ ref('int_device_users') }}

),

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

goals as (

    select * from {{ ref('stg_report_goals') }}

),

report_campaigns as (

    select * from {{ ref('int_report_campaigns') }}

),

channel_windows as (

    select * from {{ ref('stg_report_channel_windows') }}

),

recipients as (

    select * from {{ ref('int_campaign_recipients') }}

),

pairs as (

    select * from {{ ref('int_conversion_message_pairs') }}

),

conversions as (

    select * from {{ ref('int_goal_conversions') }}

),

-- The same identity stitching as a message's recipient gets.
holdout_events as (

    select
        message_events.campaign_id,
        message_events.occurred_at,
        coalesce(
            message_events.user_id,
            device_users.user_id,
            message_events.device_id
        ) as person_id
    from message_events
    left join device_users
        on message_events.device_id = device_users.device_id

),

holdout_persons as (

    select
        campaign_id,
        person_id,
        min(occurred_at) as held_out_at
    from holdout_events
    group by campaign_id, person_id

),

control_windows as (

    select
        report_campaigns.report,
        holdout_persons.campaign_id,
        holdout_persons.person_id,
        holdout_persons.held_out_at,
        channel_windows.indirect_window_hours,
        {{ dbt.dateadd(
            'hour',
            'channel_windows.indirect_window_hours',
            'holdout_persons.held_out_at'
        ) }} as window_end
    from holdout_persons
    inner join report_campaigns
        on holdout_persons.campaign_id = report_campaigns.campaign_id
    inner join campaigns
        on holdout_persons.campaign_id = campaigns.campaign_id
    inner join channel_windows
        on
            report_campaigns.report = channel_windows.report
            and campaigns.channel = channel_windows.channel

),

control_sizes as (

    select
        report,
        campaign_id,
        max(indirect_window_hours) as control_window_hours,
        count(*) as control_persons
    from control_windows
    group by report, campaign_id

),

control_conversions as (

    select distinct
        conversions.report,
        conversions.goal,
        control_windows.campaign_id,
        conversions.conversion_id,
        conversions.person_id,
        conversions.conversion_value
    from control_windows
    inner join conversions
        on
            control_windows.report = conversions.report
            and control_windows.person_id = conversions.person_id
            and control_windows.held_out_at < conversions.converted_at
            and control_windows.window_end >= conversions.converted_at

),

control_outcomes as (

    select
        report,
        goal,
        campaign_id,
        count(distinct person_id) as control_converters,
        sum(conversion_value) as control_value
    from control_conversions
    group by report, goal, campaign_id

),

treatment_sizes as (

    select
        campaign_id,
        count(*) as treatment_persons
    from recipients
    group by campaign_id

),

-- Several messages of a campaign can cover one conversion; it counts once.
treatment_conversions as (

    select distinct
        report,
        goal,
        campaign_id,
        conversion_id,
        person_id,
        conversion_value
    from pairs

),

treatment_outcomes as (

    select
        report,
        goal,
        campaign_id,
        count(distinct person_id) as treatment_converters,
        sum(conversion_value) as treatment_value
    from treatment_conversions
    group by report, goal, campaign_id

),

final as (

    select
        control_sizes.report,
        control_sizes.campaign_id,
        goals.goal,
        reports.definition_hash as report_hash,
        cast(control_sizes.control_window_hours as {{ dbt.type_int() }})
            as control_window_hours,
        cast(
            coalesce(treatment_sizes.treatment_persons, 0)
            as {{ dbt.type_bigint() }}
        ) as treatment_persons,
        cast(
            coalesce(treatment_outcomes.treatment_converters, 0)
            as {{ dbt.type_bigint() }}
        ) as treatment_converters,
        cast(
            coalesce(treatment_outcomes.treatment_value, 0) as numeric(28, 6)
        ) as treatment_value,
        cast(control_sizes.control_persons as {{ dbt.type_bigint() }})
            as control_persons,
        cast(
            coalesce(control_outcomes.control_converters, 0)
            as {{ dbt.type_bigint() }}
        ) as control_converters,
        cast(
            coalesce(control_outcomes.control_value, 0) as numeric(28, 6)
        ) as control_value
    from control_sizes
    inner join reports
        on control_sizes.report = reports.report
    inner join goals
        on control_sizes.report = goals.report
    left join treatment_sizes
        on control_sizes.campaign_id = treatment_sizes.campaign_id
    left join treatment_outcomes
        on
            control_sizes.report = treatment_outcomes.report
            and goals.goal = treatment_outcomes.goal
            and control_sizes.campaign_id = treatment_outcomes.campaign_id
    left join control_outcomes
        on
            control_sizes.report = control_outcomes.report
            and goals.goal = control_outcomes.goal
            and control_sizes.campaign_id = control_outcomes.campaign_id

)

select * from final
