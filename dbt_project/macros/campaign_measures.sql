{#
    The measure columns shared by the performance and daily marts, from
    summed counts in the surrounding select. Both marts call these so that a
    day's row and the campaign's row always mean the same thing.
#}
{% macro campaign_counts() -%}
    {%- set counts = [
        'recipients', 'messages_sent', 'received', 'received_by_fallback',
        'failed', 'clicked', 'direct_converters', 'direct_conversions',
        'indirect_converters', 'indirect_conversions',
        'view_through_converters',
    ] -%}
    {%- for column in counts %}
        cast({{ column }} as {{ dbt.type_bigint() }}) as {{ column }},
    {%- endfor %}
        -- Channels that cannot see opens report none, not zero.
        cast(
            case when tracks_opens then opened end as {{ dbt.type_bigint() }}
        ) as opened,
        cast(direct_value as numeric(28, 6)) as direct_value,
        cast(indirect_value as numeric(28, 6)) as indirect_value
{%- endmacro %}

{% macro campaign_rates() -%}
        {{ rate('received', 'recipients') }} as delivery_rate,
        case
            when tracks_opens then {{ rate('opened', 'received') }}
        end as open_rate,
        {{ rate('clicked', 'received') }} as click_rate,
        {{ rate('direct_converters', 'recipients') }}
            as direct_conversion_rate,
        {{ rate('indirect_converters', 'recipients') }}
            as indirect_conversion_rate
{%- endmacro %}
