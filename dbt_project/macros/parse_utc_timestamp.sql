{#
    Parse an ISO 8601 text timestamp into a UTC timestamp without time zone.

    A value with an offset (Z, +09:00, -08:00) is converted to UTC; a value
    without one is taken to be UTC already. Casting a naive value through a
    zoned type would read it in the session's zone instead, which differs
    between machines, so the two kinds are told apart first: everything after
    the date part (character 11 on) holds a zone only if it has Z, + or -.
    Text that is not a timestamp becomes NULL rather than failing the build;
    the staging tests then name the rows. So does text that does not start
    with an ISO date, YYYY-MM-DD: each engine's parser takes some other forms
    (DuckDB 2026/11/02, PostgreSQL 11/02/2026 read month first), and the same
    file must give the same rows on both.
#}
{% macro parse_utc_timestamp(column) -%}
    case
        when trim({{ column }}) not like '____-__-__%' then null
        when
            upper(substring(trim({{ column }}) from 11)) like '%Z'
            or substring(trim({{ column }}) from 11) like '%+%'
            or substring(trim({{ column }}) from 11) like '%-%'
            then {{ try_cast(
                try_cast('trim(' ~ column ~ ')', 'timestamptz')
                ~ " at time zone 'UTC'",
                api.Column.translate_type('timestamp')
            ) }}
        else {{ try_cast(
            'trim(' ~ column ~ ')', api.Column.translate_type('timestamp')
        ) }}
    end
{%- endmacro %}
