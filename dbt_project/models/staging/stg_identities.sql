-- One row per distinct, usable device-to-user link, de-identified, as
-- base_identities judged it. Rows that break the contract are in
-- quarantine.identities; a link exported twice counts once.
with

identities as (

    select * from {{ ref('base_identities') }}
    where row_status = 'staged'

),

final as (

    select
        device_id,
        user_id,
        linked_at,
        _source_file,
        _source_row
    from identities

)

select * from final
