-- One row per report, goal and conversion whose value property is there
-- but is not a number. The conversion still counts, with no value (a goal
-- value is a matter of one report's config, not of the row), so these are
-- values set aside, not rows: they are not part of any raw table's count.
with

conversions as (

    select * from {{ ref('int_goal_conversions') }}

),

goals as (

    select * from {{ ref('stg_report_goals') }}

),

product_events as (

    select * from {{ ref('stg_product_events') }}

),

final as (

    select
        conversions.report,
        conversions.goal,
        conversions.conversion_id,
        goals.value_property,
        conversions.value_text,
        product_events._source_file,
        product_events._source_row,
        'value_not_a_number' as reason
    from conversions
    inner join goals
        on
            conversions.report = goals.report
            and conversions.goal = goals.goal
    inner join product_events
        on conversions.conversion_id = product_events.event_id
    where
        conversions.value_text is not null
        and conversions.conversion_value is null

)

select * from final
