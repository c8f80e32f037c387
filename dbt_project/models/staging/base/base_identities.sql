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

-- A link exported again is a later copy of the same device, user and link
-- time among the rows that passed; the first copy loaded is kept. Almost
-- every link is alone, so the links are grouped first by their device's
-- hash and only the repeated ones are numbered in load order: a window over
-- every row sorted the whole table to number copies that are almost all
-- alone. A hash only narrows the rows down to candidates; the window
-- numbers them by the link itself.
repeated_device_keys as (

    select {{ key_hash('device_id') }} as device_key
    from checked
    where quarantine_reason is null
    group by {{ key_hash('device_id') }}, user_id, linked_at
    having count(*) > 1

),

copy_numbers as (

    select
        checked._source_file,
        checked._source_row,
        row_number() over (
            partition by checked.device_id, checked.user_id, checked.linked_at
            order by checked._source_file, checked._source_row
        ) as copy_number
    from checked
    where
        checked.quarantine_reason is null
        and {{ key_hash('checked.device_id') }} in (
            select repeated_device_keys.device_key
            from repeated_device_keys
        )

),

ranked as (

    select
        checked.*,
        coalesce(copy_numbers.copy_number, 1) as copy_number
    from checked
    left join copy_numbers
        on
            checked._source_file = copy_numbers._source_file
            and checked._source_row = copy_numbers._source_row

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
