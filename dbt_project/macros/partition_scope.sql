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
    older than them, and it changes what happened up to the longest credit
    span after it: a late send credits conversions after it, a late
    conversion credits sends before it. So the span runs from the range's
    start, less the longest span and the allowance, to its end plus the
    longest span. The longest span is read from the report config, in hours
    (longest_credit_span_hours).

    Every model that writes rows per conversion (the pairs, the credited
    conversions, the touches and their shares of credit) replaces exactly
    the conversions in this span, so they always agree with one another.
#}
{% macro attribution_scope_start(declared=true) -%}
    {{ dbt.dateadd(
        'hour',
        '-1 * ((' ~ longest_credit_span_hours(declared) ~ ') + '
            ~ var('late_data_allowance_hours') ~ ')',
        "cast('" ~ var('partition_start_utc') ~ "' as timestamp)"
    ) }}
{%- endmacro %}

{% macro attribution_scope_end(declared=true) -%}
    {{ dbt.dateadd(
        'hour',
        '(' ~ longest_credit_span_hours(declared) ~ ')',
        "cast('" ~ var('partition_end_utc') ~ "' as timestamp)"
    ) }}
{%- endmacro %}

{#
    declared=false is for a data test, which cannot declare the config
    views it reads here (see config_view).
#}
{% macro in_attribution_scope(column, declared=true) -%}
    {{ column }} >= {{ attribution_scope_start(declared) }}
    and {{ column }} < {{ attribution_scope_end(declared) }}
{%- endmacro %}

{#
    The longest time after a receipt or a click in which it can earn credit,
    over every report, as a subquery: the direct and indirect windows of
    every channel (stg_report_channel_windows), and the lookback of shared
    credit (stg_report_definitions), which may be longer than any window.
#}
{% macro longest_credit_span_hours(declared=true) -%}
    (
        select coalesce(max(span_hours), 0)
        from (
            select
                case
                    when direct_window_hours > indirect_window_hours
                        then direct_window_hours
                    else indirect_window_hours
                end as span_hours
            from {{ config_view('stg_report_channel_windows', declared) }}
            union all
            select lookback_hours as span_hours
            from {{ config_view('stg_report_definitions', declared) }}
        ) as credit_spans
    )
{%- endmacro %}

{#
    A staged config view, by ref() where the node declares it (every model
    that reads the attribution scope has a depends_on line for it). A data
    test cannot declare it, and dbt refuses an undeclared ref() at run time,
    so a test finds the view in dbt's graph instead; the view is upstream
    of the model the test reads, so it has been built.
#}
{% macro config_view(name, declared=true) -%}
    {%- if declared -%}
        {{ return(ref(name)) }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.name == name -%}
        {{ return(api.Relation.create(
            database=node.database,
            schema=node.schema,
            identifier=node.alias,
        )) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(name ~ ': no such model in the graph') }}
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
    (changed_receipt_campaigns, campaigns_without_receipts). Found once per
    run, into int_judged_messages, which the other readers read.
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
    Those messages as int_judged_messages holds them, for the receipts'
    pre-hook and filter (the receipts declare that table).
#}
{% macro judged_messages() -%}
    select judged.message_id
    from {{ ref('int_judged_messages') }} as judged
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
            message_id in ({{ judged_messages() }})
            or campaign_id in ({{ changed_receipt_campaigns() }})
        {%- endset -%}
        {{ delete_before_rebuild(condition) }}
    {%- else -%}
        {{ delete_before_rebuild(none) }}
    {%- endif -%}
{%- endmacro %}

{#
    The conversions a partitioned run derives again in every model
    partitioned by conversion: those of the attribution scope, and every
    conversion, whenever it happened, of a person one of whose messages the
    run derived again and whose events reach outside the scope
    (int_rederived_persons). Such a message's receipt can move by more than
    the scope (a delivery logged days after the send, a send backfilled
    after its click), and that changes the windows of its person's
    conversions wherever they fall. Every other conversion's messages are as
    they were.
#}
{% macro in_rederived_conversions() -%}
    (
        {{ in_attribution_scope('converted_at') }}
        or person_id in (
            select rederived.person_id
            from {{ ref('int_rederived_persons') }} as rederived
        )
    )
{%- endmacro %}

{% macro delete_conversions_in_scope() -%}
    {%- if is_partitioned_run() -%}
        {{ delete_before_rebuild(in_rederived_conversions()) }}
    {%- else -%}
        {{ delete_before_rebuild(none) }}
    {%- endif -%}
{%- endmacro %}
