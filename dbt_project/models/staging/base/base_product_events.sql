-- One row per raw product event row, cleaned and de-identified, with its
-- verdict: staged, duplicate (a later copy of an event_id already staged)
-- or quarantined, with the first rule it breaks in the order below. The
-- rules live here only: stg_product_events keeps the staged rows and
-- quarantine.product_events lists the quarantined ones.
--
-- De-identified: a user, device or event id that looks like a phone number
-- or an e-mail address is replaced by its salted hash, and such properties
-- are dropped (macros/personal_data.sql).
--
-- Partitioned by the day a row was delivered, like base_message_events: a
-- daily run checks only the rows of its landing folders, and judges again
-- the first copy of every event_id those rows share with rows already here.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['_source_file', '_source_row'],
    tags=['partitioned'],
    pre_hook="{{ delete_delivered_in_partition() }}",
) }}

with

source as (

    select * from {{ source('raw', 'product_events') }}
    {% if is_partitioned_run() %}
        where {{ delivered_in_partition() }}
    {% endif %}

),

cleaned as (

    select
        _landing_date,
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

new_rows as (

    select
        _landing_date,
        _source_file,
        _source_row,
        {{ pseudonymous_id('event_id') }} as event_id,
        event_key,
        {{ pseudonymous_id('user_id') }} as user_id,
        {{ pseudonymous_id('device_id') }} as device_id,
        occurred_at,
        -- The JSON functions may only see well-formed objects.
        {{ remove_pii_properties(
            'case when quarantine_reason is null then properties_text end'
        ) }} as properties,
        quarantine_reason
    from checked

),

-- A daily run also judges again the rows already here that share an
-- event_id with the new rows. Read three times, twice for narrow columns:
-- recomputed for each reader rather than held whole in memory.
batch as {{ not_materialized() }} (

    select * from new_rows
    {% if is_partitioned_run() %}
        union all
        select
            earlier._landing_date,
            earlier._source_file,
            earlier._source_row,
            earlier.event_id,
            earlier.event_key,
            earlier.user_id,
            earlier.device_id,
            earlier.occurred_at,
            earlier.properties,
            earlier.quarantine_reason
        from {{ this }} as earlier
        where
            (
                not ({{ delivered_in_partition('earlier._landing_date') }})
                or earlier._landing_date is null
            )
            and earlier.event_id in (select new_rows.event_id from new_rows)
    {% endif %}

),

-- Only rows that passed compete for an event_id, so a broken copy never
-- displaces a good one. The first copy loaded is kept.
{{ copy_numbers_ctes('batch') }},

ranked as (

    select
        batch.*,
        coalesce(copy_numbers.copy_number, 1) as copy_number
    from batch
    left join copy_numbers
        on
            batch._source_file = copy_numbers._source_file
            and batch._source_row = copy_numbers._source_row

),

final as (

    select
        _landing_date,
        _source_file,
        _source_row,
        event_id,
        event_key,
        user_id,
        device_id,
        occurred_at,
        properties,
        case
            when quarantine_reason is not null then 'quarantined'
            when copy_number > 1 then 'duplicate'
            else 'staged'
        end as row_status,
        quarantine_reason
    from ranked

)

select * from final
