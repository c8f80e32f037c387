-- One row per product event with its person after identity stitching: the
-- user on the event, else the user its device was linked to, else the
-- device. A conversion keyed by a device and a message keyed by its user,
-- or the reverse, then belong to the same person, even when the link
-- arrived after both events.
--
-- A view: its two readers each join the staged events to the device links
-- again, which cost less than writing every product event once more.
{{ config(materialized='view') }}

with

product_events as (

    select * from {{ ref('stg_product_events') }}

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
