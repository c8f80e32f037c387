-- One row per raw identity row, cleaned and de-identified, with its
-- verdict: staged, duplicate (the same link exported again) or
-- quarantined, with the first rule it breaks. The rules live here only:
-- stg_identities keeps the staged rows and quarantine.identities lists the
-- quarantined ones. Ids that look like a phone number or an e-mail address
-- are replaced by the same salted hash as in the event tables, so the links
-- still join.
with

source as (

    select * from {{ source('raw', 'identities') }}

),

cleaned as (

    select
        _source_file,
        _source_row,
        {{ clean_text('device_id') }} as device_id,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('linked_at') }} as linked_at_text
    from source

),

typed as (

    select
        *,
        {{ parse_utc_timestamp('linked_at_text') }} as linked_at
    from cleaned

),

checked as (

    select
        *,
        case
            when device_id is null then 'missing_device_id'
            when user_id is null then 'missing_user_id'
            when linked_at_text is null then 'missing_linked_at'
            when not {{ is_usable_timestamp('linked_at') }}
                then 'unparseable_linked_at'
        end as quarantine_reason
    from typed

),

ranked as (

    select
        *,
        row_number() over (
            partition by
                device_id, user_id, linked_at, quarantine_reason is null
            order by _source_file, _source_row
        ) as copy_number
    from checked

),

final as (

    select
        _source_file,
        _source_row,
        {{ pseudonymous_id('device_id') }} as device_id,
        {{ pseudonymous_id('user_id') }} as user_id,
        linked_at,
        case
            when quarantine_reason is not null then 'quarantined'
            when copy_number > 1 then 'duplicate'
            else 'staged'
        end as row_status,
        quarantine_reason
    from ranked

)

select * from final
