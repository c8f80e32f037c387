{#
    Personal data in the logs. SMS and Kakao logs carry phone numbers, e-mail
    logs carry addresses, and some exports use either as the user or device
    id. Staging keeps none of it: a property that holds one is dropped, and an
    id that is one is replaced by a salted hash, so that the person still
    joins across tables while the number or address is stored only in raw and
    quarantine.
#}

{#
    Whether a text is, or holds, a phone number or an e-mail address. An
    e-mail address is found anywhere in the text. A phone number must be the
    whole value: digits with optional spaces, dashes and brackets and an
    optional leading +, 9 to 15 digits in all, and starting with + or 0 or
    written with a separator, so that long numeric ids and amounts are not
    taken for one. NULL is neither. Known limitation: a phone number written
    with dots (555.123.4567) or as a bare number without a leading 0
    (821012345678) is not recognised as one.
#}
{% macro looks_like_pii(text) -%}
    case
        {#
            Only a text with an '@' can hold an address (lower() makes no '@'
            of another character), and such a text is no phone number. Ids
            rarely have one, so most skip the address pattern.
        #}
        when strpos({{ text }}, '@') > 0
            then {{ regex_matches(
                'lower(' ~ text ~ ')',
                '[a-z0-9._%+-]+@[a-z0-9-]+([.][a-z0-9-]+)*[.][a-z]{2,}'
            ) }}
        {#
            The anchored pattern fails at the first letter; the digits are
            counted only for the texts it lets through.
        #}
        when {{ regex_matches(text, '^[+]?[0-9 ()-]+$') }}
            then
                length(regexp_replace({{ text }}, '[^0-9]', '', 'g'))
                between 9 and 15
                and {{ regex_matches(text, '^[+0]|[0-9][ ()-]') }}
        else false
    end
{%- endmacro %}

{# A key lowercased and stripped of everything but letters and digits. #}
{% macro normalized_key(key) -%}
    regexp_replace(lower({{ key }}), '[^a-z0-9]', '', 'g')
{%- endmacro %}

{#
    The key rule as one regular expression on a normalized key: one of the
    pii_property_key_fragments anywhere, or one of the pii_property_key_names
    as the whole key (or anywhere, with whole_names false). Each must be
    lowercase letters and digits, the only characters a normalized key has,
    so that none of them reads as regular-expression syntax.
#}
{% macro pii_key_pattern(whole_names=true) -%}
    {%- set fragments = var('pii_property_key_fragments') | list -%}
    {%- set names = var('pii_property_key_names') | list -%}
    {%- for word in fragments + names -%}
        {%- if not modules.re.fullmatch('[a-z0-9]+', word | string) -%}
            {{ exceptions.raise_compiler_error(
                'pii_property_key_fragments, pii_property_key_names: '
                ~ 'expected lowercase letters and digits, got ' ~ word
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if not names -%}
        {{ exceptions.raise_compiler_error(
            'pii_property_key_names: expected at least one name'
        ) }}
    {%- endif -%}
    {%- if whole_names -%}
        {{ (fragments + ['^(' ~ names | join('|') ~ ')$']) | join('|') }}
    {%- else -%}
        {{ (fragments + names) | join('|') }}
    {%- endif -%}
{%- endmacro %}

{#
    Whether one property (its key and its value as text) is personal data:
    its key, normalized, contains one of the pii_property_key_fragments or is
    one of the pii_property_key_names (dbt_project.yml), or the key or the
    value looks like a phone number or an e-mail address.
#}
{% macro is_pii_property(key, value_text) -%}
    (
        {{ regex_matches(normalized_key(key), pii_key_pattern()) }}
        or {{ looks_like_pii(key) }}
        or {{ looks_like_pii(value_text) }}
    )
{%- endmacro %}

{#
    A JSON object's text without its personal-data properties (see
    is_pii_property); NULL stays NULL. Only top-level properties are
    inspected; an e-mail address is found in a nested value too, a phone
    number nested inside an object or array under an innocuous key is not.
    An object without such properties is returned exactly as it was written.
    The argument must be a JSON object without repeated keys, or NULL.
#}
{% macro remove_pii_properties(json_object_text) -%}
    {{ return(adapter.dispatch('remove_pii_properties', 'campaign_report')(
        json_object_text
    )) }}
{%- endmacro %}

{#
    Parsing an object is what costs, so NULL and an object that cannot hold
    a property to drop (may_hold_pii_property) are returned as they are;
    only the others are parsed.
#}
{% macro default__remove_pii_properties(json_object_text) -%}
    case
        when
            {{ json_object_text }} is null
            or not {{ may_hold_pii_property(json_object_text) }}
            then {{ json_object_text }}
        else {{ parse_and_remove_pii_properties(json_object_text) }}
    end
{%- endmacro %}

{#
    Whether a JSON object's text may hold a property that is_pii_property
    drops: false only when it cannot, judged from the text and its keys
    without parsing the values. DuckDB SQL.
#}
{% macro may_hold_pii_property(json_object_text) -%}
    {%- set keys = (
        "array_to_string(json_keys(" ~ json_object_text ~ "), ' ')"
    ) -%}
    (
        {#
            JSON can write any character as a backslash escape; without one,
            every key and string value stands in the text as it is read.
        #}
        strpos({{ json_object_text }}, '\') > 0
        {# A key or value that holds an address holds an '@'. #}
        or strpos({{ json_object_text }}, '@') > 0
        {#
            A phone number has 9 digits or more with nothing but + ( ) - and
            spaces between them, and a key or string value without escapes
            stands so in the text. No other value is one: an object or array
            starts with a bracket, true, false and null have letters, and a
            number has a . or an e, or is a sign and digits that neither start
            with 0 (but 0 itself) nor have a separator after a digit, however
            DuckDB writes it.
        #}
        or {{ regex_matches(json_object_text, '[0-9]([ ()+-]*[0-9]){8}') }}
        {#
            json_keys undoes the escapes, and lower() and the stripping work
            one character at a time, so a normalized key is a run of all keys
            normalized one after the other: a fragment or name it contains or
            is appears there.
        #}
        or {{ regex_matches(
            normalized_key(keys), pii_key_pattern(whole_names=false)
        ) }}
    )
{%- endmacro %}

{#
    remove_pii_properties on DuckDB by parsing the object, whatever it
    holds: the rule itself, which the tests compare the shortcut with. The
    properties are filtered a second time only when the first pass found
    one to drop.
#}
{% macro parse_and_remove_pii_properties(json_object_text) -%}
    {%- set entries = (
        "map_entries(from_json(" ~ json_object_text
        ~ ", '\"MAP(VARCHAR, JSON)\"'))"
    ) -%}
    {%- set is_pii = is_pii_property(
        "entry['key']", "json_extract_string(entry['value'], '$')"
    ) -%}
    case
        when len(list_filter({{ entries }}, lambda entry: {{ is_pii }})) = 0
            then {{ json_object_text }}
        else cast(
            to_json(map_from_entries(
                list_filter({{ entries }}, lambda entry: not {{ is_pii }})
            )) as varchar
        )
    end
{%- endmacro %}

{% macro postgres__remove_pii_properties(json_object_text) -%}
    case
        when {{ json_object_text }} is null then null
        else (
            select cast(coalesce(
                jsonb_object_agg(entry.key, entry.value), '{}'::jsonb
            ) as text)
            from jsonb_each(cast({{ json_object_text }} as jsonb)) as entry
            where not {{ is_pii_property('entry.key', "entry.value #>> '{}'") }}
        )
    end
{%- endmacro %}

{#
    The salt of hash_identifier, as a SQL string literal, from the
    environment variable CAMPAIGN_REPORT_PII_SALT. The orchestration checks
    it before dbt runs; this stops a dbt command run by hand without it.
    It is read only when SQL is compiled, never while dbt parses the
    project, so that it does not end up in dbt's partial-parse state. Known
    limitation: it is in the compiled SQL under dbt_project/target and in
    dbt.log, which must stay as private as the salt.
#}
{% macro pii_salt_literal() -%}
    {%- if not execute -%}
        {{ return("''") }}
    {%- endif -%}
    {%- set salt = env_var('CAMPAIGN_REPORT_PII_SALT', '') -%}
    {#- Blanks add nothing to guess, so they do not count. -#}
    {%- set counted = salt.split() | join('') | length -%}
    {%- if counted < 16 -%}
        {{ exceptions.raise_compiler_error(
            'CAMPAIGN_REPORT_PII_SALT: expected a secret of at least 16 '
            ~ 'characters other than blanks to hash phone numbers and e-mail '
            ~ 'addresses with, got ' ~ counted ~ ' characters'
        ) }}
    {%- endif -%}
    '{{ salt | replace("'", "''") }}'
{%- endmacro %}

{#
    A salted SHA-256 of a text, as 'sha256:' and 64 hex digits: the same
    text and salt always give the same value, so hashed ids still join.
#}
{% macro hash_identifier(text) -%}
    {{ return(adapter.dispatch('hash_identifier', 'campaign_report')(text)) }}
{%- endmacro %}

{% macro default__hash_identifier(text) -%}
    'sha256:' || sha256({{ pii_salt_literal() }} || {{ text }})
{%- endmacro %}

{% macro postgres__hash_identifier(text) -%}
    'sha256:' || encode(
        sha256(convert_to({{ pii_salt_literal() }} || {{ text }}, 'UTF8')),
        'hex'
    )
{%- endmacro %}

{#
    An id as it is, unless it looks like a phone number or an e-mail address:
    then its salted hash. Ids are compared exactly as before, so one address
    written in two cases is two persons, hashed or not.
#}
{% macro pseudonymous_id(column) -%}
    case
        when {{ looks_like_pii(column) }} then {{ hash_identifier(column) }}
        else {{ column }}
    end
{%- endmacro %}
