with

source as (

    select * from {{ source('raw', 'message_events') }}

),

cleaned as (

    select
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('message_id') }} as message_id,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('device_id') }} as device_id,
        lower({{ clean_text('channel') }}) as channel,
        lower({{ clean_text('event_type') }}) as event_type,
        {{ parse_utc_timestamp('occurred_at') }} as occurred_at,
        {{ clean_text('properties') }} as properties,
        _source_file,
        _source_row
    from source

),

-- The same event_id seen twice is one event delivered twice: keep the copy
-- that was loaded first.
deduplicated as (

    select
        *,
        row_number() over (
            partition by event_id
            order by _source_file, _source_row
        ) as copy_number
    from cleaned

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
        properties
    from deduplicated
    where copy_number = 1

)

select * from final
