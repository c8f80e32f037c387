-- One row per report, goal, conversion, credited campaign and attribution
-- type, under the report's credit mode.
--   independent: every campaign with an open window is credited. A
--     conversion counts once per campaign and type even when several of the
--     campaign's messages cover it; the row names the message whose anchor
--     came last. A direct conversion has a direct and an indirect row.
--   last_touch: each conversion goes to one message across all campaigns:
--     the latest click whose direct window covers it, else the latest
--     receipt whose indirect window covers it, ties to the smaller
--     message_id. It has one row, direct or indirect.
--
-- Partitioned like the pairs it reads: a daily run derives again the
-- conversions of its attribution scope (macros/partition_scope.sql) and
-- replaces them; every other conversion's rows depend only on its own pairs.
-- Besides the scope, it redoes every conversion of a person whose messages
-- the run derived again: their receipts may have moved by more than the
-- scope (in_rederived_conversions).
-- The attribution scope reads the windows:
-- depends_on: {{ ref('stg_report_channel_windows') }}
-- The persons whose messages the run derived again:
-- depends_on: {{ ref('int_rederived_persons') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    tags=['partitioned'],
    pre_hook="{{ delete_conversions_in_scope() }}",
) }}

with

pairs as (

    select * from {{ ref('int_conversion_message_pairs') }}
    {% if is_partitioned_run() %}
        where {{ in_rederived_conversions() }}
    {% endif %}

),

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

candidates as (

    select
        pairs.*,
        reports.credit_mode,
        reports.definition_hash,
        'direct' as attribution_type,
        1 as credit_priority,
        pairs.first_clicked_at as anchor_at
    from pairs
    inner join reports
        on pairs.report = reports.report
    where pairs.is_direct

    union all

    select
        pairs.*,
        reports.credit_mode,
        reports.definition_hash,
        'indirect' as attribution_type,
        2 as credit_priority,
        -- A conversion that is indirect only because it is direct (its
        -- click came before the delivery receipt) is anchored on the click.
        case
            when pairs.in_receipt_window then pairs.received_at
            else pairs.first_clicked_at
        end as anchor_at
    from pairs
    inner join reports
        on pairs.report = reports.report
    where
        pairs.in_receipt_window
        or (reports.credit_mode = 'independent' and pairs.is_direct)

),

ranked as (

    select
        *,
        row_number() over (
            partition by
                report, goal, conversion_id, campaign_id, attribution_type
            order by anchor_at desc, message_id asc
        ) as campaign_rank,
        row_number() over (
            partition by report, goal, conversion_id
            order by credit_priority asc, anchor_at desc, message_id asc
        ) as last_touch_rank
    from candidates

),

credited as (

    select * from ranked
    where
        (credit_mode = 'independent' and campaign_rank = 1)
        or (credit_mode = 'last_touch' and last_touch_rank = 1)

),

final as (

    select
        report,
        goal,
        conversion_id,
        campaign_id,
        attribution_type,
        credit_mode,
        definition_hash as report_hash,
        person_id,
        message_id,
        received_channel,
        anchor_at,
        converted_at,
        cast(
            {{ dbt.datediff('anchor_at', 'converted_at', 'second') }}
            as {{ type_double() }}
        ) / 3600 as hours_from_anchor,
        cast(conversion_value as numeric(28, 6)) as conversion_value
    from credited

)

select * from final
