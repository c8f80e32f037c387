{#
    Checks on a text column that should hold a JSON object. Both are false,
    never NULL or an error, for a NULL or for text that is not JSON, so that a
    bad row can be set aside instead of failing the build.
#}

{# Whether the text is one JSON object (not an array, string or number). #}
{% macro is_json_object(text) -%}
    {{ return(adapter.dispatch('is_json_object', 'campaign_report')(text)) }}
{%- endmacro %}

{% macro default__is_json_object(text) -%}
    case
        when json_valid({{ text }}) then json_type({{ text }}) = 'OBJECT'
        else false
    end
{%- endmacro %}

{# IS JSON needs PostgreSQL 16, so 15 calls a function of the run hook. #}
{% macro postgres__is_json_object(text) -%}
    udf.is_json_object({{ text }})
{%- endmacro %}

{#
    Whether a JSON object names one key twice. Readers disagree on which
    value wins (DuckDB takes the first, PostgreSQL's jsonb the last), so such
    an object has no single meaning.
#}
{% macro has_repeated_json_key(text) -%}
    {{ return(adapter.dispatch('has_repeated_json_key', 'campaign_report')(
        text
    )) }}
{%- endmacro %}

{% macro default__has_repeated_json_key(text) -%}
    case
        when {{ is_json_object(text) }}
            then
                len(json_keys({{ text }}))
                != len(list_distinct(json_keys({{ text }})))
        else false
    end
{%- endmacro %}

{% macro postgres__has_repeated_json_key(text) -%}
    udf.has_repeated_json_key({{ text }})
{%- endmacro %}

{#
    Whether a JSON object has a top-level key, whatever its value (null
    included). The key is an expression, like json_text's.
#}
{% macro json_has_key(json_column, key_expression) -%}
    {{ return(adapter.dispatch('json_has_key', 'campaign_report')(
        json_column, key_expression
    )) }}
{%- endmacro %}

{% macro default__json_has_key(json_column, key_expression) -%}
    coalesce(
        json_exists({{ json_column }}, '$."' || {{ key_expression }} || '"'),
        false
    )
{%- endmacro %}

{% macro postgres__json_has_key(json_column, key_expression) -%}
    coalesce(cast({{ json_column }} as jsonb) ? {{ key_expression }}, false)
{%- endmacro %}
