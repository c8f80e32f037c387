-- One row per device that has been linked to a user: the user of its latest
-- link. A device shared or resold moves to its newest owner for all of its
-- history, which is the usual reading of a login on a device.
with

identities as (

    select * from {{ ref('stg_identities') }}

),

ranked as (

    select
        device_id,
        user_id,
        linked_at,
        row_number() over (
            partition by device_id
            order by linked_at desc, user_id desc
        ) as link_rank
    from identities

),

final as (

    select
        device_id,
        user_id,
        linked_at
    from ranked
    where link_rank = 1

)

select * from final
