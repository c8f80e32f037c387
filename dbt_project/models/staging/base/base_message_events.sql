-- One row per raw message event row, cleaned and de-identified, with its
-- verdict: staged, duplicate (a later copy of an event_id already staged)
-- or quarantined, with the first rule it breaks in the order below (the
-- rules on the row alone, then the ones on its campaign and its message).
-- The rules live here only: stg_message_events keeps the staged rows and
-- quarantine.message_events lists the quarantined ones.
--
-- De-identified: a user, device, message or event id that looks like a
-- phone number or an e-mail address is replaced by its salted hash, and
-- such properties are dropped (macros/personal_data.sql).
--
-- Partitioned by the day a row was delivered: a daily run cleans and checks
-- only the rows of its landing folders. The rules that compare rows (the
-- first copy of an event_id, the campaign of a message) and the one that
-- looks the campaign up are judged again, on the rows already here, for
-- every event_id and message_id the new rows share, and for every row whose
-- campaign has since appeared or gone; each judged row replaces its old
-- verdict. So the verdicts equal those of a full build whatever order the
-- days are loaded in, as long as the copies of one event share its message.
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

    select * from {{ source('raw', 'message_events') }}
    {% if is_partitioned_run() %}
        where {{ delivered_in_partition() }}
    {% endif %}

),

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

cleaned as (

    select
        _landing_date,
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

-- The rules on the row alone.
checked as (

    select
        *,
        case
            when event_id is null then 'missing_event_id'
            when campaign_id is null then 'missing_campaign_id'
            when message_id is null then 'missing_message_id'
            when user_id is null and device_id is null
                then 'missing_person'
            when event_type is null then 'missing_event_type'
            when
                event_type
                not in ({{ quoted_list(accepted_event_types()) }})
                then 'unknown_event_type'
            when
                channel
                not in ({{ quoted_list(accepted_channels()) }})
                then 'unknown_channel'
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
        end as row_reason
    from typed

),

new_rows as (

    select
        _landing_date,
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
        -- The JSON functions may only see well-formed objects.
        {{ remove_pii_properties(
            'case when row_reason is null then properties_text end'
        ) }} as properties,
        row_reason
    from checked

),

-- A daily run also judges again the rows already here that share an event
-- or a message with the new rows, or whose campaign appeared or went.
batch as (

    select * from new_rows
    {% if is_partitioned_run() %}
        union all
        select
            earlier._landing_date,
            earlier._source_file,
            earlier._source_row,
            earlier.event_id,
            earlier.campaign_id,
            earlier.message_id,
            earlier.user_id,
            earlier.device_id,
            earlier.channel,
            earlier.event_type,
            earlier.occurred_at,
            earlier.properties,
            earlier.row_reason
        from {{ this }} as earlier
        where
            (
                not ({{ delivered_in_partition('earlier._landing_date') }})
                or earlier._landing_date is null
            )
            and (
                earlier.event_id in (select new_rows.event_id from new_rows)
                or earlier.message_id in (
                    select new_rows.message_id from new_rows
                )
                or earlier.message_id in (
                    select judged.message_id
                    from {{ this }} as judged
                    left join campaigns
                        on judged.campaign_id = campaigns.campaign_id
                    where
                        judged.row_reason is null
                        and (campaigns.campaign_id is null) != coalesce(
                            judged.quarantine_reason = 'unknown_campaign',
                            false
                        )
                )
            )
    {% endif %}

),

-- Then the rule on the campaign. This CTE and `consistent` are wide and
-- long, and each is read three times, mostly for a few narrow columns:
-- recomputed for each reader, they never hold every column of every row in
-- memory at once. Held, they took most of the memory of a build, and past
-- tens of millions of rows the build spilled to disk.
with_campaign as {{ not_materialized() }} (

    select
        batch.*,
        coalesce(
            batch.row_reason,
            case when campaigns.campaign_id is null then 'unknown_campaign' end
        ) as campaign_reason
    from batch
    left join campaigns
        on batch.campaign_id = campaigns.campaign_id

),

-- Every event of a message belongs to one campaign: the campaign of the
-- message's first usable event loaded. An event that names another campaign
-- contradicts it and is set aside. Almost every message names one campaign
-- throughout, so only the contested ones are put in load order: sorting
-- every event of every message cost more than the rest of the rules. The
-- messages are grouped by their ids' hashes (macros/key_hash.sql): a group
-- with one campaign holds only messages of that campaign, whichever ids
-- share the hash; a group with two is sorted out by message_id below.
message_key_campaign_ranges as (

    select
        {{ key_hash('message_id') }} as message_key,
        min(campaign_id) as lowest_campaign_id,
        max(campaign_id) as highest_campaign_id
    from with_campaign
    where campaign_reason is null
    group by {{ key_hash('message_id') }}

),

contested_message_keys as (

    select message_key
    from message_key_campaign_ranges
    where lowest_campaign_id != highest_campaign_id

),

contested_events_in_load_order as (

    select
        with_campaign.message_id,
        with_campaign.campaign_id,
        row_number() over (
            partition by with_campaign.message_id
            order by with_campaign._source_file, with_campaign._source_row
        ) as event_rank
    from with_campaign
    inner join contested_message_keys
        on
            {{ key_hash('with_campaign.message_id') }}
            = contested_message_keys.message_key
    where with_campaign.campaign_reason is null

),

-- The campaign of each message of a contested group; a message of any
-- other group has one campaign, so none of its events contradicts it.
contested_message_campaigns as (

    select
        message_id,
        campaign_id
    from contested_events_in_load_order
    where event_rank = 1

),

consistent as {{ not_materialized() }} (

    select
        with_campaign.*,
        coalesce(
            with_campaign.campaign_reason,
            case
                when
                    with_campaign.campaign_id
                    != contested_message_campaigns.campaign_id
                    then 'message_in_other_campaign'
            end
        ) as quarantine_reason
    from with_campaign
    left join contested_message_campaigns
        on with_campaign.message_id = contested_message_campaigns.message_id

),

-- Only rows that passed compete for an event_id, so a broken copy never
-- displaces a good one. The first copy loaded is kept.
{{ copy_numbers_ctes('consistent') }},

ranked as (

    select
        consistent.*,
        coalesce(copy_numbers.copy_number, 1) as copy_number
    from consistent
    left join copy_numbers
        on
            consistent._source_file = copy_numbers._source_file
            and consistent._source_row = copy_numbers._source_row

),

final as (

    select
        _landing_date,
        _source_file,
        _source_row,
        event_id,
        campaign_id,
        message_id,
        user_id,
        device_id,
        channel,
        event_type,
        occurred_at,
        properties,
        row_reason,
        case
            when quarantine_reason is not null then 'quarantined'
            when copy_number > 1 then 'duplicate'
            else 'staged'
        end as row_status,
        quarantine_reason
    from ranked

)

select * from final
