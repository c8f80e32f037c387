-- One row per message whose events this daily run judged in
-- base_message_events (messages_judged_in_partition), with the times of all
-- of its staged events: the messages int_message_receipts derives again,
-- and what int_rederived_persons needs to tell whether one reaches outside
-- the attribution scope. Every staged event counts, quarantined ones too,
-- since an earlier verdict may have used them.
--
-- A table of its own so that the judged messages are found once per run:
-- finding them scans the staged events twice, and the receipts read them
-- twice (the pre-hook and the filter) and the rederived persons once.
-- Empty outside a daily run, whose receipts derive every message anyway.
with

message_events as (

    select * from {{ ref('base_message_events') }}

),

final as (

    select
        message_id,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from message_events
    {% if has_partition_vars() %}
        where message_id in ({{ messages_judged_in_partition() }})
    {% else %}
        where false
    {% endif %}
    group by message_id

)

select * from final
