-- One row per person whose conversions outside the attribution scope this
-- daily run must redo, in the five models partitioned by conversion
-- (in_rederived_conversions): the persons of the messages it derived again
-- in int_message_receipts whose events reach outside the scope.
--
-- Why those and no others: a message's receipt and first click, before
-- this run and after it, are times of its own events, so every conversion
-- whose windows it opens or opened lies after its first event and at most
-- the longest credit span after its last. When the first event is inside
-- the scope and the last one before the run's end, all of those
-- conversions are inside the scope, which the run redoes anyway. A receipt
-- can only move past the scope when they are not: a delivery logged days
-- after the send, or a send backfilled long before its click. All staged
-- events count, quarantined ones too, since an earlier verdict may have
-- used them.
--
-- A table of its own so that these persons are found once per run; each
-- of the five models reads it twice (its filter and its pre-hook). Empty
-- outside a daily run: a full build redoes every conversion anyway. The
-- scope reads the windows and the lookbacks:
-- depends_on: {{ ref('stg_report_channel_windows') }}
-- depends_on: {{ ref('stg_report_definitions') }}
-- depends_on: {{ ref('int_judged_messages') }}

with

receipts as (

    select * from {{ ref('int_message_receipts') }}

),

{% if has_partition_vars() %}

    -- The times of every staged event of each message the run judged.
    judged_message_times as (

        select * from {{ ref('int_judged_messages') }}

    ),

    reaching_outside as (

        select message_id
        from judged_message_times
        where
            first_event_at < {{ attribution_scope_start() }}
            or last_event_at
            >= cast('{{ var("partition_end_utc") }}' as timestamp)

    ),

{% endif %}

final as (

    select distinct receipts.person_id
    from receipts
    {% if has_partition_vars() %}
        where
            receipts.person_id is not null
            and receipts.message_id in (
                select reaching_outside.message_id from reaching_outside
            )
    {% else %}
        where false
    {% endif %}

)

select * from final
