with

source as (

    select * from {{ source('raw', 'product_events') }}

),

cleaned as (

    select
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('event_key') }} as event_key,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('device_id') }} as device_id,
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
        event_key,
        user_id,
        device_id,
        occurred_at,
        properties
    from deduplicated
    where copy_number = 1

)

select * from final
