-- One row per distinct, usable product event, de-identified, as
-- base_product_events judged it. Rows that break the contract are in
-- quarantine.product_events; later copies of an event_id are dropped.
with

product_events as (

    select * from {{ ref('base_product_events') }}
    where row_status = 'staged'

),

final as (

    select
        event_id,
        event_key,
        user_id,
        device_id,
        occurred_at,
        properties,
        _landing_date,
        _source_file,
        _source_row
    from product_events

)

select * from final
