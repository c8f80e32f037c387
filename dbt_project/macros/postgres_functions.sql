{#
    The helper functions that postgres__try_cast calls, created in schema
    udf by the on-run-start hook. Each casts text and returns NULL on a data
    error (any error of SQLSTATE class 22: bad text, a field out of range, a
    number too large), which is what DuckDB's try_cast does. Nothing to
    create on other warehouses.
#}
{% macro create_try_cast_functions() -%}
    {{ return(adapter.dispatch(
        'create_try_cast_functions', 'campaign_report'
    )()) }}
{%- endmacro %}

{% macro default__create_try_cast_functions() -%}
{%- endmacro %}

{% macro postgres__create_try_cast_functions() -%}
create schema if not exists udf;

create or replace function udf.try_cast_timestamptz(value text)
returns timestamptz
language plpgsql stable
as $$
begin
    return value::timestamptz;
exception when data_exception then
    return null;
end;
$$;

create or replace function udf.try_cast_timestamp(value text)
returns timestamp
language plpgsql stable
as $$
begin
    return value::timestamp;
exception when data_exception then
    return null;
end;
$$;

-- parse_utc_timestamp casts an already converted timestamp again.
create or replace function udf.try_cast_timestamp(value timestamp)
returns timestamp
language sql immutable
as $$ select value $$;

-- The C library that parses floats for PostgreSQL also reads hexadecimal
-- (0x10 is 16); DuckDB does not, and neither does JSON.
create or replace function udf.try_cast_double(value text)
returns double precision
language plpgsql immutable
as $$
begin
    if value ~* '^\s*[-+]?0x' then
        return null;
    end if;
    return value::double precision;
exception when data_exception then
    return null;
end;
$$;

-- NaN and numbers with more integer digits than the type allows are NULL,
-- as a cast to DuckDB's decimal(p, s) would make them.
create or replace function udf.try_cast_numeric(
    value text, type_precision integer, type_scale integer
)
returns numeric
language plpgsql immutable
as $$
declare
    parsed numeric;
begin
    parsed := round(value::numeric, type_scale);
    if parsed = 'NaN'::numeric
        or abs(parsed) >= 10::numeric ^ (type_precision - type_scale) then
        return null;
    end if;
    return parsed;
exception when data_exception then
    return null;
end;
$$;
{%- endmacro %}
