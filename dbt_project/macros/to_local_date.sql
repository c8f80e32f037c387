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

{#
    A UTC timestamp floored to its quarter hour. Every zone offset in use
    since 1972 is a whole number of quarter hours, and zones change offset
    on a quarter hour, so a timestamp and its quarter hour fall on the same
    local date: a model can convert the few distinct quarter hours to local
    dates instead of every row, since a zone conversion costs far more per
    row than a join on a small lookup.
#}
{% macro quarter_hour_floor(utc_timestamp) -%}
    {{ dbt.dateadd(
        'minute',
        'cast(floor(extract(minute from ' ~ utc_timestamp ~ ') / 15) * 15'
        ~ ' as integer)',
        dbt.date_trunc('hour', utc_timestamp),
    ) }}
{%- endmacro %}
