with

source as (

    select * from {{ source('raw', 'identities') }}

),

cleaned as (

    select
        {{ clean_text('device_id') }} as device_id,
        {{ clean_text('user_id') }} as user_id,
        {{ parse_utc_timestamp('linked_at') }} as linked_at
    from source

),

-- The same link exported twice is one link.
final as (

    select distinct
        device_id,
        user_id,
        linked_at
    from cleaned

)

select * from final
