-- One row per raw message event row, cleaned and de-identified, with its
-- verdict: staged, duplicate (a later copy of an event_id already staged)
-- or quarantined, with the first rule it breaks in the order below (the
-- rules on the row alone, then the one on its message's campaign). The
-- rules live here only: stg_message_events keeps the staged rows and
-- quarantine.message_events lists the quarantined ones.
--
-- De-identified: a user, device, message or event id that looks like a
-- phone number or an e-mail address is replaced by its salted hash, and
-- such properties are dropped (macros/personal_data.sql).
with

source as (

    select * from {{ source('raw', 'message_events') }}

),

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

cleaned as (

    select
        _source_file,
        _source_row,
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('message_id') }} as message_id,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('device_id') }} as device_id,
        lower({{ clean_text('channel') }}) as channel,
        lower({{ clean_text('event_type') }}) as event_type,
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
        typed.*,
        case
            when typed.event_id is null then 'missing_event_id'
            when typed.campaign_id is null then 'missing_campaign_id'
            when typed.message_id is null then 'missing_message_id'
            when typed.user_id is null and typed.device_id is null
                then 'missing_person'
            when typed.event_type is null then 'missing_event_type'
            when
                typed.event_type
                not in ({{ quoted_list(accepted_event_types()) }})
                then 'unknown_event_type'
            when
                typed.channel
                not in ({{ quoted_list(accepted_channels()) }})
                then 'unknown_channel'
            when typed.occurred_at_text is null then 'missing_occurred_at'
            when not {{ is_usable_timestamp('typed.occurred_at') }}
                then 'unparseable_occurred_at'
            when typed.occurred_at > {{ future_timestamp_limit() }}
                then 'future_occurred_at'
            when campaigns.campaign_id is null then 'unknown_campaign'
            when
                typed.properties_text is not null
                and not {{ is_json_object('typed.properties_text') }}
                then 'properties_not_json_object'
            when {{ has_repeated_json_key('typed.properties_text') }}
                then 'properties_repeated_key'
        end as row_reason
    from typed
    left join campaigns
        on typed.campaign_id = campaigns.campaign_id

),

-- Every event of a message belongs to one campaign: the campaign of the
-- message's first usable event loaded. An event that names another campaign
-- contradicts it and is set aside.
usable_events_in_load_order as (

    select
        message_id,
        campaign_id,
        row_number() over (
            partition by message_id
            order by _source_file, _source_row
        ) as event_rank
    from checked
    where row_reason is null

),

message_campaigns as (

    select
        message_id,
        campaign_id
    from usable_events_in_load_order
    where event_rank = 1

),

consistent as (

    select
        checked.*,
        coalesce(
            checked.row_reason,
            case
                when checked.campaign_id != message_campaigns.campaign_id
                    then 'message_in_other_campaign'
            end
        ) as quarantine_reason
    from checked
    left join message_campaigns
        on checked.message_id = message_campaigns.message_id

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
    from consistent

),

final as (

    select
        _source_file,
        _source_row,
        {{ pseudonymous_id('event_id') }} as event_id,
        campaign_id,
        {{ pseudonymous_id('message_id') }} as message_id,
        {{ pseudonymous_id('user_id') }} as user_id,
        {{ pseudonymous_id('device_id') }} as device_id,
        channel,
        event_type,
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
