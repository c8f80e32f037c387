{#
    The helper functions that postgres__try_cast and the JSON checks call,
    created in schema udf by the on-run-start hook. Each try_cast function
    casts text and returns NULL on a data error (any error of SQLSTATE class
    22: bad text, a field out of range, a number too large), which is what
    DuckDB's try_cast does. The JSON checks return false on text that is not
    JSON, since PostgreSQL 15 has no IS JSON predicate. Nothing to create on
    other warehouses.
#}
{% macro create_postgres_functions() -%}
    {{ return(adapter.dispatch(
        'create_postgres_functions', 'campaign_report'
    )()) }}
{%- endmacro %}

{% macro default__create_postgres_functions() -%}
{%- endmacro %}

{% macro postgres__create_postgres_functions() -%}
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

-- jsonb, not json: the properties are read as jsonb later, and jsonb refuses
-- some text that json takes (a \u0000 escape).
create or replace function udf.is_json_object(value text)
returns boolean
language plpgsql immutable
as $$
begin
    return coalesce(jsonb_typeof(value::jsonb) = 'object', false);
exception when data_exception then
    return false;
end;
$$;

-- json, not jsonb: json keeps every key as written, so a repeated one shows.
create or replace function udf.has_repeated_json_key(value text)
returns boolean
language plpgsql immutable
as $$
begin
    if not udf.is_json_object(value) then
        return false;
    end if;
    return (
        select count(*) <> count(distinct key)
        from json_object_keys(value::json) as key
    );
end;
$$;
{%- endmacro %}
