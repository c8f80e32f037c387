-- One row per product event with its person after identity stitching: the
-- user on the event, else the user its device was linked to, else the
-- device. A conversion keyed by a device and a message keyed by its user,
-- or the reverse, then belong to the same person, even when the link
-- arrived after both events.
--
-- Only the events some goal or goal step is made of, since no other event
-- can convert or reach a step: the filter comes before the stitching join,
-- which then reads about half of the product events (16.4M of 29.8M at 100M
-- message events). Written in the reader instead, it ran after the join.
--
-- A view: its two readers each join the staged events to the device links
-- again, which cost less than writing the product events once more.
{{ config(materialized='view') }}

with

goals as (

    select * from {{ ref('stg_report_goals') }}

),

goal_steps as (

    select * from {{ ref('stg_report_goal_steps') }}

),

goal_event_keys as (

    select goals.event_key from goals
    union
    select goal_steps.event_key from goal_steps

),

product_events as (

    select * from {{ ref('stg_product_events') }}
    where event_key in (select goal_event_keys.event_key from goal_event_keys)

),

device_users as (

    select * from {{ ref('int_device_users') }}

),

final as (

    select
        product_events.event_id,
        product_events.event_key,
        coalesce(
            product_events.user_id,
            device_users.user_id,
            product_events.device_id
        ) as person_id,
        product_events.occurred_at,
        product_events.properties,
        -- So that a daily run's data tests read only the run's rows.
        product_events._landing_date
    from product_events
    left join device_users
        on product_events.device_id = device_users.device_id

)

select * from final
