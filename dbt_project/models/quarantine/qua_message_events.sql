-- One row per raw message event row that base_message_events set aside:
-- its values exactly as loaded, personal data included, where it came from
-- and the first rule it breaks.
with

source as (

    select * from {{ source('raw', 'message_events') }}

),

verdicts as (

    select * from {{ ref('base_message_events') }}
    where row_status = 'quarantined'

),

final as (

    select
        source.event_id,
        source.campaign_id,
        source.message_id,
        source.user_id,
        source.device_id,
        source.channel,
        source.event_type,
        source.occurred_at,
        source.properties,
        source._source_file,
        source._source_row,
        verdicts.quarantine_reason as reason
    from source
    inner join verdicts
        on
            source._source_file = verdicts._source_file
            and source._source_row = verdicts._source_row

)

select * from final
