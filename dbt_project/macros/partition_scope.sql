{#
    The day range of a partitioned run, from the vars the Dagster partitioned
    assets pass (orchestration/partitions.py): partition_start_date and
    partition_end_date name the landing folders, partition_start_utc and
    partition_end_utc are the same local midnights in UTC. Every bound is
    >= start and < end, so no row sits in two days.

    Without those vars (a full refresh, or dbt run by hand) an incremental
    model redoes everything, so it always ends where a full build would.
#}

{% macro is_partitioned_run() -%}
    {{ return(has_partition_vars() and is_incremental_build()) }}
{%- endmacro %}

{# The run was given a partition's days (a daily run, not a full build). #}
{% macro has_partition_vars() -%}
    {{ return(
        var('partition_start_date', none) is not none
        and var('partition_end_date', none) is not none
    ) }}
{%- endmacro %}

{# is_incremental(), except where there is no table at all: a unit test. #}
{% macro is_incremental_build() -%}
    {{ return(this is not none and is_incremental()) }}
{%- endmacro %}

{# The rows delivered on the run's days, by the folder they landed in. #}
{% macro delivered_in_partition(column='_landing_date') -%}
    {{ column }} >= cast('{{ var("partition_start_date") }}' as date)
    and {{ column }} < cast('{{ var("partition_end_date") }}' as date)
{%- endmacro %}

{#
    The span of event time a partitioned run re-derives attribution for. A
    row delivered on the run's days may be up to the late-data allowance
    older than them, and it changes what happened up to the largest window
    after it: a late send credits conversions after it, a late conversion
    credits sends before it. So the span runs from the range's start, less
    the largest window and the allowance, to its end plus the largest
    window. The largest window is read from the report config, in hours:
    stg_report_channel_windows has every report's window on every channel.
#}
{% macro attribution_scope_start() -%}
    {{ dbt.dateadd(
        'hour',
        '-1 * ((' ~ largest_window_hours() ~ ') + '
            ~ var('late_data_allowance_hours') ~ ')',
        "cast('" ~ var('partition_start_utc') ~ "' as timestamp)"
    ) }}
{%- endmacro %}

{% macro attribution_scope_end() -%}
    {{ dbt.dateadd(
        'hour',
        '(' ~ largest_window_hours() ~ ')',
        "cast('" ~ var('partition_end_utc') ~ "' as timestamp)"
    ) }}
{%- endmacro %}

{% macro in_attribution_scope(column) -%}
    {{ column }} >= {{ attribution_scope_start() }}
    and {{ column }} < {{ attribution_scope_end() }}
{%- endmacro %}

{# The largest direct or indirect window of any report, as a subquery. #}
{% macro largest_window_hours() -%}
    (
        select coalesce(max(
            case
                when direct_window_hours > indirect_window_hours
                    then direct_window_hours
                else indirect_window_hours
            end
        ), 0)
        from {{ ref('stg_report_channel_windows') }}
    )
{%- endmacro %}

{#
    The pre-hook of a model partitioned by delivery: a partitioned run first
    drops what the run's landing folders gave last time, so a day whose
    files shrank or vanished leaves nothing behind, and a second run of the
    same day changes nothing.
#}
{% macro delete_delivered_in_partition() -%}
    {%- if is_partitioned_run() -%}
        {{ delete_before_rebuild(delivered_in_partition()) }}
    {%- else -%}
        {{ delete_before_rebuild(none) }}
    {%- endif -%}
{%- endmacro %}

{#
    What every partitioned model's pre-hook deletes: the rows the run is
    about to write again. An incremental run without partition vars (a
    second full build, or dbt run by hand) rebuilds the whole table, so it
    empties it first; the first build creates the table and deletes nothing.
#}
{% macro delete_before_rebuild(partition_condition) -%}
    {%- if is_partitioned_run() -%}
        delete from {{ this }} where {{ partition_condition }}
    {%- elif is_incremental_build() -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#
    The messages a partitioned run derives again in int_message_receipts: a
    message's row depends only on its own events and its campaign, so only
    the messages whose events base_message_events judged in this run can
    change. That model judges the rows of the run's landing folders and the
    earlier rows that share an event_id or a message_id with them, so these
    are the messages of every row sharing an event_id with a delivered row
    (its own message included). Rows judged again because their campaign
    appeared or went are found by campaign instead
    (changed_receipt_campaigns, campaigns_without_receipts).
#}
{% macro messages_judged_in_partition() -%}
    select judged.message_id
    from {{ ref('base_message_events') }} as judged
    where judged.event_id in (
        select delivered.event_id
        from {{ ref('base_message_events') }} as delivered
        where {{ delivered_in_partition('delivered._landing_date') }}
    )
{%- endmacro %}

{#
    Campaigns whose receipts no longer match the campaigns table: gone, or
    on another channel (which also changes whether opens are tracked). A
    run drops all of their receipts, and campaigns_without_receipts then
    derives them again from every staged event of the campaign.
#}
{% macro changed_receipt_campaigns() -%}
    select receipts.campaign_id
    from {{ this }} as receipts
    left join {{ ref('stg_campaigns') }} as campaigns
        on receipts.campaign_id = campaigns.campaign_id
    where
        campaigns.campaign_id is null
        or receipts.campaign_channel != campaigns.channel
{%- endmacro %}

{# Campaigns with no receipt yet: new, just changed, or never received. #}
{% macro campaigns_without_receipts() -%}
    select campaigns.campaign_id
    from {{ ref('stg_campaigns') }} as campaigns
    where campaigns.campaign_id not in (
        select receipts.campaign_id from {{ this }} as receipts
    )
{%- endmacro %}

{#
    The pre-hook of int_message_receipts: a partitioned run drops the rows
    of the messages it derives again, and every row of a changed campaign.
#}
{% macro delete_judged_messages() -%}
    {%- if is_partitioned_run() -%}
        {%- set condition -%}
            message_id in ({{ messages_judged_in_partition() }})
            or campaign_id in ({{ changed_receipt_campaigns() }})
        {%- endset -%}
        {{ delete_before_rebuild(condition) }}
    {%- else -%}
        {{ delete_before_rebuild(none) }}
    {%- endif -%}
{%- endmacro %}

{% macro delete_conversions_in_scope() -%}
    {%- if is_partitioned_run() -%}
        {{ delete_before_rebuild(in_attribution_scope('converted_at')) }}
    {%- else -%}
        {{ delete_before_rebuild(none) }}
    {%- endif -%}
{%- endmacro %}
