-- One row per report, campaign and goal: reach, direct and indirect
-- conversions and their rates, every campaign measured on the same criteria.
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

reach as (

    select
        campaign_id,
        count(*) as recipients,
        sum(messages_sent) as messages_sent,
        sum(case when was_received then 1 else 0 end) as received,
        sum(case when was_opened then 1 else 0 end) as opened,
        sum(case when was_clicked then 1 else 0 end) as clicked
    from recipients
    group by campaign_id

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
        report,
        goal,
        campaign_id,
        count(distinct case when is_direct = 1 then person_id end)
            as direct_converters,
        sum(is_direct) as direct_conversions,
        sum(case when is_direct = 1 then conversion_value end)
            as direct_value,
        count(distinct person_id) as indirect_converters,
        count(*) as indirect_conversions,
        sum(conversion_value) as indirect_value,
        count(distinct case when is_direct = 0 then person_id end)
            as view_through_converters
    from conversion_types
    group by report, goal, campaign_id

),

grid as (

    select
        reports.report,
        reports.window_hours,
        goals.goal,
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.tracks_opens,
        campaigns.first_sent_at
    from reports
    inner join goals
        on reports.report = goals.report
    cross join campaigns

),

measured as (

    select
        grid.report,
        grid.campaign_id,
        grid.campaign_name,
        grid.channel,
        grid.goal,
        grid.window_hours,
        grid.first_sent_at,
        grid.tracks_opens,
        coalesce(reach.recipients, 0) as recipients,
        coalesce(reach.messages_sent, 0) as messages_sent,
        coalesce(reach.received, 0) as received,
        coalesce(reach.recipients, 0) - coalesce(reach.received, 0) as failed,
        coalesce(reach.opened, 0) as opened,
        coalesce(reach.clicked, 0) as clicked,
        coalesce(conversions.direct_converters, 0) as direct_converters,
        coalesce(conversions.direct_conversions, 0) as direct_conversions,
        coalesce(conversions.direct_value, 0) as direct_value,
        coalesce(conversions.indirect_converters, 0) as indirect_converters,
        coalesce(conversions.indirect_conversions, 0) as indirect_conversions,
        coalesce(conversions.indirect_value, 0) as indirect_value,
        coalesce(conversions.view_through_converters, 0)
            as view_through_converters
    from grid
    left join reach
        on grid.campaign_id = reach.campaign_id
    left join conversions
        on
            grid.report = conversions.report
            and grid.goal = conversions.goal
            and grid.campaign_id = conversions.campaign_id

),

final as (

    select
        report,
        campaign_id,
        campaign_name,
        channel,
        goal,
        window_hours,
        first_sent_at,
        cast(recipients as {{ dbt.type_bigint() }}) as recipients,
        cast(messages_sent as {{ dbt.type_bigint() }}) as messages_sent,
        cast(received as {{ dbt.type_bigint() }}) as received,
        cast(failed as {{ dbt.type_bigint() }}) as failed,
        -- Channels that cannot see opens report none, not zero.
        cast(
            case when tracks_opens then opened end as {{ dbt.type_bigint() }}
        ) as opened,
        cast(clicked as {{ dbt.type_bigint() }}) as clicked,
        cast(direct_converters as {{ dbt.type_bigint() }}) as direct_converters,
        cast(
            direct_conversions as {{ dbt.type_bigint() }}
        ) as direct_conversions,
        cast(direct_value as numeric(28, 6)) as direct_value,
        cast(
            indirect_converters as {{ dbt.type_bigint() }}
        ) as indirect_converters,
        cast(
            indirect_conversions as {{ dbt.type_bigint() }}
        ) as indirect_conversions,
        cast(indirect_value as numeric(28, 6)) as indirect_value,
        cast(
            view_through_converters as {{ dbt.type_bigint() }}
        ) as view_through_converters,
        {{ rate('received', 'recipients') }} as delivery_rate,
        case
            when tracks_opens then {{ rate('opened', 'received') }}
        end as open_rate,
        {{ rate('clicked', 'received') }} as click_rate,
        {{ rate('direct_converters', 'recipients') }}
            as direct_conversion_rate,
        {{ rate('indirect_converters', 'recipients') }}
            as indirect_conversion_rate
    from measured

)

select * from final
