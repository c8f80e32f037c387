{#
    Cast that yields NULL instead of failing on a value that does not fit.
    dbt.safe_cast is a plain cast on DuckDB, where one bad value in millions
    would fail the whole build.
#}
{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'campaign_report')(
        expression, data_type
    )) }}
{%- endmacro %}

{% macro default__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{#
    DuckDB parses text into a decimal wider than 18 digits (a 128-bit
    integer) about a hundred times slower than into one of up to 18: at 100M
    message events the conversion values alone took 27 s of the goal
    conversions' 30 s. So a wide decimal is tried at 18 digits first, with
    the same scale, and only a value too large for that (or not a number)
    is parsed again at the full width. The two parses round and reject alike,
    so the result is the plain try_cast's (tests/test_try_cast.py).
#}
{% macro duckdb__try_cast(expression, data_type) -%}
    {%- set type_name = data_type | lower | replace(' ', '') -%}
    {%- set is_decimal = type_name.startswith('numeric(')
        or type_name.startswith('decimal(') -%}
    {%- set precision, scale = (
        type_name.split('(')[1].rstrip(')').split(',')
        if is_decimal else ('0', '0')
    ) -%}
    {%- if is_decimal and precision | int > 18 and scale | int <= 18 -%}
        coalesce(
            cast(
                try_cast({{ expression }} as decimal(18, {{ scale }}))
                as {{ data_type }}
            ),
            try_cast({{ expression }} as {{ data_type }})
        )
    {%- else -%}
        {{ default__try_cast(expression, data_type) }}
    {%- endif -%}
{%- endmacro %}

{#
    PostgreSQL has no try_cast, so each type the models need has a helper
    function that returns NULL on a data error (macros/postgres_functions.sql
    creates them before every run). A numeric's precision and scale are
    checked in the helper, because a cast to numeric(p, s) would fail on a
    value too large for it instead of giving NULL.
#}
{% macro postgres__try_cast(expression, data_type) -%}
    {%- set type_name = data_type | lower | replace(' ', '') -%}
    {%- if type_name in ('timestamptz', 'timestampwithtimezone') -%}
        udf.try_cast_timestamptz({{ expression }})
    {%- elif type_name in ('timestamp', 'timestampwithouttimezone') -%}
        udf.try_cast_timestamp({{ expression }})
    {%- elif type_name in ('doubleprecision', 'double', 'float8') -%}
        udf.try_cast_double({{ expression }})
    {%- elif type_name.startswith('numeric(') or type_name.startswith('decimal(') -%}
        {%- set precision, scale = type_name.split('(')[1].rstrip(')').split(',') -%}
        cast(
            udf.try_cast_numeric({{ expression }}, {{ precision }}, {{ scale }})
            as {{ data_type }}
        )
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "try_cast has no PostgreSQL helper for type '" ~ data_type
            ~ "'; add one to macros/postgres_functions.sql and to "
            ~ "postgres__try_cast in macros/try_cast.sql"
        ) }}
    {%- endif -%}
{%- endmacro %}
