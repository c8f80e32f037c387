-- One row per campaign and person sent to: how far that person got with the
-- campaign's messages. The reach columns of the performance and funnel marts
-- are counts over this table.
with

messages as (

    select * from {{ ref('int_message_receipts') }}

),

final as (

    select
        campaign_id,
        person_id,
        min(sent_at) as first_sent_at,
        count(*) as messages_sent,
        max(case when is_received then 1 else 0 end) = 1 as was_received,
        -- Where opens are tracked, a click implies an open: images blocked or
        -- a lost tracking pixel hide the open, not the reading.
        max(
            case
                when
                    is_received
                    and (
                        first_opened_at is not null
                        or first_clicked_at is not null
                    )
                    then 1
                else 0
            end
        ) = 1 as was_opened,
        max(case when first_clicked_at is not null then 1 else 0 end) = 1
            as was_clicked,
        max(case when is_received_by_fallback then 1 else 0 end) = 1
            as was_received_by_fallback
    from messages
    group by campaign_id, person_id

)

select * from final
