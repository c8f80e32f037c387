-- One row per report, campaign, goal and funnel step, from send to direct
-- conversion. Each step counts persons who also reached the step before, so
-- no step exceeds the one before it. The opened step exists only for
-- channels that track opens.
with

campaigns as (

    select * from {{ ref('dim_campaigns') }}

),

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

goals as (

    select * from {{ ref('stg_report_goals') }}

),

recipients as (

    select * from {{ ref('int_campaign_recipients') }}

),

attributed as (

    select * from {{ ref('fct_attributed_conversions') }}

),

direct_converters as (

    select distinct
        report,
        goal,
        campaign_id,
        person_id
    from attributed
    where attribution_type = 'direct'

),

grid as (

    select
        reports.report,
        goals.goal,
        campaigns.campaign_id,
        campaigns.tracks_opens
    from reports
    inner join goals
        on reports.report = goals.report
    cross join campaigns

),

-- Reaching a step requires reaching every step before it.
person_steps as (

    select
        grid.report,
        grid.goal,
        grid.campaign_id,
        grid.tracks_opens,
        recipients.person_id,
        recipients.was_received as reached_received,
        recipients.was_received and recipients.was_opened as reached_opened,
        recipients.was_received
        and recipients.was_opened
        and recipients.was_clicked as reached_clicked,
        recipients.was_received
        and recipients.was_opened
        and recipients.was_clicked
        and direct_converters.person_id is not null as reached_converted
    from grid
    left join recipients
        on grid.campaign_id = recipients.campaign_id
    left join direct_converters
        on
            grid.report = direct_converters.report
            and grid.goal = direct_converters.goal
            and grid.campaign_id = direct_converters.campaign_id
            and recipients.person_id = direct_converters.person_id

),

step_counts as (

    select
        report,
        goal,
        campaign_id,
        tracks_opens,
        count(person_id) as sent,
        sum(case when reached_received then 1 else 0 end) as received,
        sum(case when reached_opened then 1 else 0 end) as opened,
        sum(case when reached_clicked then 1 else 0 end) as clicked,
        sum(case when reached_converted then 1 else 0 end) as converted
    from person_steps
    group by report, goal, campaign_id, tracks_opens

),

steps as (

    select
        report,
        campaign_id,
        goal,
        1 as step_index,
        'sent' as step,
        sent as persons
    from step_counts

    union all

    select
        report,
        campaign_id,
        goal,
        2 as step_index,
        'received' as step,
        received as persons
    from step_counts

    union all

    select
        report,
        campaign_id,
        goal,
        3 as step_index,
        'opened' as step,
        opened as persons
    from step_counts
    where tracks_opens

    union all

    select
        report,
        campaign_id,
        goal,
        case when tracks_opens then 4 else 3 end as step_index,
        'clicked' as step,
        clicked as persons
    from step_counts

    union all

    select
        report,
        campaign_id,
        goal,
        case when tracks_opens then 5 else 4 end as step_index,
        'converted' as step,
        converted as persons
    from step_counts

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
        report,
        campaign_id,
        goal,
        cast(step_index as {{ dbt.type_int() }}) as step_index,
        step,
        cast(coalesce(persons, 0) as {{ dbt.type_bigint() }}) as persons,
        {{ rate('persons', 'previous_persons') }} as rate_from_previous,
        {{ rate('persons', 'first_persons') }} as rate_from_first,
        cast(previous_persons - persons as {{ dbt.type_bigint() }})
            as drop_off
    from with_previous

)

select * from final
