-- One row per report, campaign, goal and funnel step: sent, received,
-- opened (only for channels that track opens), clicked, then the goal's own
-- steps in order (if it has any), then converted. Each step counts persons
-- who also reached the step before it, so no step exceeds the one before.
--
-- A goal step counts a person who did that product event after reaching
-- the previous step and within the direct window from their first click
-- on the campaign. Converted counts persons with a direct conversion
-- credited to the campaign after the last step they had to reach (the
-- click, for a goal without steps), so it never exceeds direct_converters.
with

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

goals as (

    select * from {{ ref('stg_report_goals') }}

),

goal_steps as (

    select * from {{ ref('stg_report_goal_steps') }}

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

recipients as (

    select * from {{ ref('int_campaign_recipients') }}

),

messages as (

    select * from {{ ref('int_message_receipts') }}

),

-- Only the events some goal step is made of, since no other event can
-- reach a step, and every step joins these. The view has already left out
-- the events of no goal or step key before its stitching join; this narrows
-- them to the step keys.
product_events as (

    select * from {{ ref('int_person_product_events') }}
    where event_key in (select goal_steps.event_key from goal_steps)

),

attributed as (

    select * from {{ ref('int_attributed_conversions') }}

),

step_counts_per_goal as (

    select
        goals.report,
        goals.goal,
        count(goal_steps.step_number) as goal_step_count
    from goals
    left join goal_steps
        on
            goals.report = goal_steps.report
            and goals.goal = goal_steps.goal
    group by goals.report, goals.goal

),

grid as (

    select
        report_campaigns.report,
        report_campaigns.campaign_id,
        step_counts_per_goal.goal,
        step_counts_per_goal.goal_step_count,
        campaigns.tracks_opens
    from report_campaigns
    inner join step_counts_per_goal
        on report_campaigns.report = step_counts_per_goal.report
    inner join campaigns
        on report_campaigns.campaign_id = campaigns.campaign_id

),

-- Counted per campaign before the grid is joined: the grid repeats each
-- campaign for every report and goal, and joining it first multiplied the
-- recipients (49.5M rows into 265M at 100M message events).
campaign_reach as (

    select
        campaign_id,
        count(*) as sent,
        sum(case when was_received then 1 else 0 end) as received,
        sum(
            case when was_received and was_opened then 1 else 0 end
        ) as opened,
        sum(
            case
                when was_received and was_opened and was_clicked then 1
                else 0
            end
        ) as clicked
    from recipients
    group by campaign_id

),

reach as (

    select
        grid.report,
        grid.campaign_id,
        grid.goal,
        coalesce(campaign_reach.sent, 0) as sent,
        coalesce(campaign_reach.received, 0) as received,
        coalesce(campaign_reach.opened, 0) as opened,
        coalesce(campaign_reach.clicked, 0) as clicked
    from grid
    left join campaign_reach
        on grid.campaign_id = campaign_reach.campaign_id

),

-- Each clicker's first click on the campaign starts the goal's steps, and
-- the direct window of that message's channel bounds them.
first_clicks as (

    select
        report_campaigns.report,
        messages.campaign_id,
        messages.person_id,
        messages.first_clicked_at,
        {{ dbt.dateadd(
            'hour',
            'channel_windows.direct_window_hours',
            'messages.first_clicked_at'
        ) }} as step_deadline,
        row_number() over (
            partition by
                report_campaigns.report,
                messages.campaign_id,
                messages.person_id
            order by messages.first_clicked_at, messages.message_id
        ) as click_rank
    from messages
    inner join report_campaigns
        on messages.campaign_id = report_campaigns.campaign_id
    inner join channel_windows
        on
            report_campaigns.report = channel_windows.report
            and messages.received_channel = channel_windows.channel
    where messages.is_received and messages.first_clicked_at is not null

),

step_0 as (

    select
        first_clicks.report,
        step_counts_per_goal.goal,
        first_clicks.campaign_id,
        first_clicks.person_id,
        first_clicks.step_deadline,
        first_clicks.first_clicked_at as reached_at
    from first_clicks
    inner join step_counts_per_goal
        on first_clicks.report = step_counts_per_goal.report
    where first_clicks.click_rank = 1

),

{% for step_number in range(1, var('max_goal_steps') + 1) %}
    step_{{ step_number }} as (

        select
            previous_step.report,
            previous_step.goal,
            previous_step.campaign_id,
            previous_step.person_id,
            previous_step.step_deadline,
            min(product_events.occurred_at) as reached_at
        from step_{{ step_number - 1 }} as previous_step
        inner join goal_steps
            on
                previous_step.report = goal_steps.report
                and previous_step.goal = goal_steps.goal
                and goal_steps.step_number = {{ step_number }}
        inner join product_events
            on
                previous_step.person_id = product_events.person_id
                and goal_steps.event_key = product_events.event_key
                and previous_step.reached_at < product_events.occurred_at
                and previous_step.step_deadline >= product_events.occurred_at
        group by
            previous_step.report,
            previous_step.goal,
            previous_step.campaign_id,
            previous_step.person_id,
            previous_step.step_deadline

    ),

{% endfor %}
goal_step_progress as (

    {% for step_number in range(1, var('max_goal_steps') + 1) %}
        select
            report,
            goal,
            campaign_id,
            person_id,
            {{ step_number }} as step_number,
            reached_at
        from step_{{ step_number }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

last_required_steps as (

    select
        step_0.report,
        step_0.goal,
        step_0.campaign_id,
        step_0.person_id,
        coalesce(goal_step_progress.reached_at, step_0.reached_at)
            as reached_at,
        step_counts_per_goal.goal_step_count
    from step_0
    inner join step_counts_per_goal
        on
            step_0.report = step_counts_per_goal.report
            and step_0.goal = step_counts_per_goal.goal
    left join goal_step_progress
        on
            step_0.report = goal_step_progress.report
            and step_0.goal = goal_step_progress.goal
            and step_0.campaign_id = goal_step_progress.campaign_id
            and step_0.person_id = goal_step_progress.person_id
            and step_counts_per_goal.goal_step_count
            = goal_step_progress.step_number
    where
        step_counts_per_goal.goal_step_count = 0
        or goal_step_progress.person_id is not null

),

converted_persons as (

    select distinct
        last_required_steps.report,
        last_required_steps.goal,
        last_required_steps.campaign_id,
        last_required_steps.person_id
    from last_required_steps
    inner join attributed
        on
            last_required_steps.report = attributed.report
            and last_required_steps.goal = attributed.goal
            and last_required_steps.campaign_id = attributed.campaign_id
            and last_required_steps.person_id = attributed.person_id
            and attributed.attribution_type = 'direct'
            and last_required_steps.reached_at < attributed.converted_at

),

goal_step_persons as (

    select
        report,
        goal,
        campaign_id,
        step_number,
        count(*) as persons
    from goal_step_progress
    group by report, goal, campaign_id, step_number

),

converted_counts as (

    select
        report,
        goal,
        campaign_id,
        count(*) as persons
    from converted_persons
    group by report, goal, campaign_id

),

steps as (

    select
        report,
        campaign_id,
        goal,
        1 as step_index,
        'sent' as step,
        sent as persons
    from reach

    union all

    select
        report,
        campaign_id,
        goal,
        2 as step_index,
        'received' as step,
        received as persons
    from reach

    union all

    select
        reach.report,
        reach.campaign_id,
        reach.goal,
        3 as step_index,
        'opened' as step,
        reach.opened as persons
    from reach
    inner join grid
        on
            reach.report = grid.report
            and reach.campaign_id = grid.campaign_id
            and reach.goal = grid.goal
    where grid.tracks_opens

    union all

    select
        reach.report,
        reach.campaign_id,
        reach.goal,
        case when grid.tracks_opens then 4 else 3 end as step_index,
        'clicked' as step,
        reach.clicked as persons
    from reach
    inner join grid
        on
            reach.report = grid.report
            and reach.campaign_id = grid.campaign_id
            and reach.goal = grid.goal

    union all

    select
        grid.report,
        grid.campaign_id,
        grid.goal,
        (case when grid.tracks_opens then 4 else 3 end)
        + goal_steps.step_number as step_index,
        goal_steps.event_key as step,
        coalesce(goal_step_persons.persons, 0) as persons
    from grid
    inner join goal_steps
        on
            grid.report = goal_steps.report
            and grid.goal = goal_steps.goal
    left join goal_step_persons
        on
            grid.report = goal_step_persons.report
            and grid.goal = goal_step_persons.goal
            and grid.campaign_id = goal_step_persons.campaign_id
            and goal_steps.step_number = goal_step_persons.step_number

    union all

    select
        grid.report,
        grid.campaign_id,
        grid.goal,
        (case when grid.tracks_opens then 5 else 4 end)
        + grid.goal_step_count as step_index,
        'converted' as step,
        coalesce(converted_counts.persons, 0) as persons
    from grid
    left join converted_counts
        on
            grid.report = converted_counts.report
            and grid.goal = converted_counts.goal
            and grid.campaign_id = converted_counts.campaign_id

),

with_previous as (

    select
        *,
        lag(persons) over (
            partition by report, campaign_id, goal order by step_index
        ) as previous_persons,
        first_value(persons) over (
            partition by report, campaign_id, goal order by step_index
        ) as first_persons
    from steps

),

final as (

    select
        with_previous.report,
        with_previous.campaign_id,
        with_previous.goal,
        reports.credit_mode,
        reports.definition_hash as report_hash,
        cast(with_previous.step_index as {{ dbt.type_int() }}) as step_index,
        with_previous.step,
        cast(with_previous.persons as {{ dbt.type_bigint() }}) as persons,
        {{ rate('with_previous.persons', 'with_previous.previous_persons') }}
            as rate_from_previous,
        {{ rate('with_previous.persons', 'with_previous.first_persons') }}
            as rate_from_first,
        cast(
            with_previous.previous_persons - with_previous.persons
            as {{ dbt.type_bigint() }}
        ) as drop_off
    from with_previous
    inner join reports
        on with_previous.report = reports.report

)

select * from final
