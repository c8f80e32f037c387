-- One row per person one of whose messages this run derived again in
-- int_message_receipts. A daily run redoes every conversion of these
-- persons, whenever it happened, in the five models partitioned by
-- conversion (in_rederived_conversions): a receipt can move by more than the
-- attribution scope (a delivery logged days after the send, a send
-- backfilled after its click), and that moves the windows of its person's
-- conversions wherever they fall.
--
-- A table of its own so that the judged messages are found once per run;
-- each of the five models reads it twice (its filter and its pre-hook).
-- Empty outside a daily run: a full build redoes every conversion anyway.
-- The persons are read from the receipts as this run left them.
-- depends_on: {{ ref('base_message_events') }}

with

receipts as (

    select * from {{ ref('int_message_receipts') }}

),

final as (

    select distinct receipts.person_id
    from receipts
    {% if has_partition_vars() %}
        where
            receipts.person_id is not null
            and receipts.message_id in ({{ messages_judged_in_partition() }})
    {% else %}
        where false
    {% endif %}

)

select * from final
