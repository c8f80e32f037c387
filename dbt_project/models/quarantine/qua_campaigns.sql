-- One row per raw campaign row that base_campaigns set aside: its values
-- exactly as loaded, where it came from and the first rule it breaks.
with

source as (

    select * from {{ source('raw', 'campaigns') }}

),

verdicts as (

    select * from {{ ref('base_campaigns') }}
    where row_status = 'quarantined'

),

final as (

    select
        source.campaign_id,
        source.campaign_name,
        source.channel,
        source.message_type,
        source.created_at,
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
