-- One row per report, goal and conversion: the product events that meet the
-- goal's event key and every one of its property conditions, with duplicate
-- orders removed.
with

goals as (

    select * from {{ ref('stg_report_goals') }}

),

conditions as (

    select * from {{ ref('stg_report_goal_conditions') }}

),

product_events as (

    select * from {{ ref('int_person_product_events') }}

),

goal_events as (

    select
        goals.report,
        goals.goal,
        product_events.event_id,
        product_events.person_id,
        product_events.occurred_at,
        product_events.properties,
        {{ json_text('product_events.properties', 'goals.value_property') }}
            as value_text,
        -- An empty dedupe value identifies nothing, so it must not merge
        -- every event that has one into a single conversion.
        nullif(
            trim({{ json_text(
                'product_events.properties', 'goals.dedupe_property'
            ) }}),
            ''
        ) as dedupe_value,
        {{ json_has_key(
            'product_events.properties', 'goals.dedupe_property'
        ) }} as has_dedupe_property
    from goals
    inner join product_events
        on goals.event_key = product_events.event_key

),

-- A condition written as `in` arrives as several rows sharing one
-- condition_index; it holds when any of them holds. A property the event does
-- not have fails every condition on it, `!=` included.
condition_results as (

    select
        goal_events.report,
        goal_events.goal,
        goal_events.event_id,
        conditions.condition_index,
        max(
            case
                when {{ goal_condition_holds('goal_events', 'conditions') }}
                    then 1
                else 0
            end
        ) as holds
    from goal_events
    inner join conditions
        on
            goal_events.report = conditions.report
            and goal_events.goal = conditions.goal
    group by
        goal_events.report,
        goal_events.goal,
        goal_events.event_id,
        conditions.condition_index

),

failing_events as (

    select distinct
        report,
        goal,
        event_id
    from condition_results
    where holds = 0

),

qualifying_events as (

    select goal_events.*
    from goal_events
    left join failing_events
        on
            goal_events.report = failing_events.report
            and goal_events.goal = failing_events.goal
            and goal_events.event_id = failing_events.event_id
    where failing_events.event_id is null

),

-- Events that share the dedupe property's value are one conversion, the
-- earliest. An event without that property stands on its own.
ranked as (

    select
        *,
        row_number() over (
            partition by
                report,
                goal,
                coalesce(dedupe_value, event_id),
                dedupe_value is null
            order by occurred_at, event_id
        ) as dedupe_rank
    from qualifying_events

),

final as (

    select
        report,
        goal,
        event_id as conversion_id,
        person_id,
        occurred_at as converted_at,
        {{ try_cast('value_text', 'numeric(28, 6)') }}
            as conversion_value,
        value_text,
        -- Counted on its own although the export meant it to be matched
        -- with others: a person should look at where the value went.
        has_dedupe_property and dedupe_value is null as has_empty_dedupe_value
    from ranked
    where dedupe_rank = 1

)

select * from final
