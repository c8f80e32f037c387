-- One row per distinct, usable message event, de-identified, as
-- base_message_events judged it. Rows that break the contract are in
-- quarantine.message_events; later copies of an event_id are dropped.
with

message_events as (

    select * from {{ ref('base_message_events') }}
    where row_status = 'staged'

),

final as (

    select
        event_id,
        campaign_id,
        message_id,
        user_id,
        device_id,
        channel,
        event_type,
        occurred_at,
        properties,
        _landing_date,
        _source_file,
        _source_row
    from message_events

)

select * from final
