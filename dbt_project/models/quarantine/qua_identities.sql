-- One row per raw identity row that base_identities set aside: its values
-- exactly as loaded, personal data included, where it came from and the
-- first rule it breaks.
with

source as (

    select * from {{ source('raw', 'identities') }}

),

verdicts as (

    select * from {{ ref('base_identities') }}
    where row_status = 'quarantined'

),

final as (

    select
        source.device_id,
        source.user_id,
        source.linked_at,
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
