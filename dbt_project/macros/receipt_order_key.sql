{#
    A message's receipt is its first candidate event in the order: priority
    (1 for a delivery, 2 otherwise), then time, then channel. These macros
    pack that order into one bigint, so the receipt is a plain min() per
    message: 8 bytes of state, which DuckDB can spill. An arg_min over a
    (priority, time, event_id) struct kept a sort-key blob per message
    outside the spillable memory, and under a 6 GB memory_limit the receipts
    ran out of memory at 100M message events.

    Layout, from the top: priority, then microseconds since 1900-01-01
    (staging rejects earlier times; 2^53 microseconds reach 2185), then
    4 bits for the channel's place in accepted_channels(). The largest key,
    (2 * 2^53 + 2^53) * 16, is 3 * 2^57, inside a bigint's 2^63.
#}
{% macro receipt_order_key(priority, occurred_at, channel) -%}
    (
        (
            cast({{ priority }} as bigint) * 9007199254740992
            + {{ microseconds_since_1900(occurred_at) }}
        ) * 16
        + case {{ channel }}
            {%- for name in accepted_channels() %}
            when '{{ name }}' then {{ loop.index0 }}
            {%- endfor %}
        end
    )
{%- endmacro %}

{# The channel packed in the low 4 bits of a receipt_order_key. #}
{% macro receipt_order_channel(key) -%}
    case {{ key }} % 16
        {%- for name in accepted_channels() %}
        when {{ loop.index0 }} then '{{ name }}'
        {%- endfor %}
    end
{%- endmacro %}

{#
    Whole microseconds from 1900-01-01 00:00 to a UTC timestamp, as a
    bigint. 2,208,988,800 seconds separate 1900-01-01 from the Unix epoch.
#}
{% macro microseconds_since_1900(column) -%}
    {{ return(adapter.dispatch(
        'microseconds_since_1900', 'campaign_report'
    )(column)) }}
{%- endmacro %}

{% macro default__microseconds_since_1900(column) -%}
    (epoch_us({{ column }}) + 2208988800000000)
{%- endmacro %}

{# extract(epoch ...) is numeric on PostgreSQL 14 and later: exact. #}
{% macro postgres__microseconds_since_1900(column) -%}
    (
        cast(extract(epoch from {{ column }}) * 1000000 as bigint)
        + 2208988800000000
    )
{%- endmacro %}
