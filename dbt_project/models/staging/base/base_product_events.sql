-- One row per raw product event row, cleaned and de-identified, with its
-- verdict: staged, duplicate (a later copy of an event_id already staged)
-- or quarantined, with the first rule it breaks in the order below. The
-- rules live here only: stg_product_events keeps the staged rows and
-- quarantine.product_events lists the quarantined ones.
--
-- De-identified: a user, device or event id that looks like a phone number
-- or an e-mail address is replaced by its salted hash, and such properties
-- are dropped (macros/personal_data.sql).
with

source as (

    select * from {{ source('raw', 'product_events') }}

),

cleaned as (

    select
        _source_file,
        _source_row,
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('event_key') }} as event_key,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('device_id') }} as device_id,
        {{ clean_text('occurred_at') }} as occurred_at_text,
        {{ clean_text('properties') }} as properties_text
    from source

),

typed as (

    select
        *,
        {{ parse_utc_timestamp('occurred_at_text') }} as occurred_at
    from cleaned

),

checked as (

    select
        *,
        case
            when event_id is null then 'missing_event_id'
            when event_key is null then 'missing_event_key'
            when user_id is null and device_id is null
                then 'missing_person'
            when occurred_at_text is null then 'missing_occurred_at'
            when not {{ is_usable_timestamp('occurred_at') }}
                then 'unparseable_occurred_at'
            when occurred_at > {{ future_timestamp_limit() }}
                then 'future_occurred_at'
            when
                properties_text is not null
                and not {{ is_json_object('properties_text') }}
                then 'properties_not_json_object'
            when {{ has_repeated_json_key('properties_text') }}
                then 'properties_repeated_key'
        end as quarantine_reason
    from typed

),

-- Only rows that passed compete for an event_id, so a broken copy never
-- displaces a good one. The first copy loaded is kept.
ranked as (

    select
        *,
        row_number() over (
            partition by event_id, quarantine_reason is null
            order by _source_file, _source_row
        ) as copy_number,
        -- The JSON functions below may only see well-formed objects.
        case
            when quarantine_reason is null then properties_text
        end as checked_properties
    from checked

),

final as (

    select
        _source_file,
        _source_row,
        {{ pseudonymous_id('event_id') }} as event_id,
        event_key,
        {{ pseudonymous_id('user_id') }} as user_id,
        {{ pseudonymous_id('device_id') }} as device_id,
        occurred_at,
        {{ remove_pii_properties('checked_properties') }} as properties,
        case
            when quarantine_reason is not null then 'quarantined'
            when copy_number > 1 then 'duplicate'
            else 'staged'
        end as row_status,
        quarantine_reason
    from ranked

)

select * from final
