{#
    The calendar date, in a reporting time zone, of a UTC timestamp. The zone
    is an expression (the report's timezone column), so one build serves
    reports in different zones; daylight-saving changes are the zone
    database's business, not ours.
#}
{% macro to_local_date(utc_timestamp, timezone) -%}
    cast(
        ({{ utc_timestamp }} at time zone 'UTC') at time zone {{ timezone }}
        as date
    )
{%- endmacro %}
