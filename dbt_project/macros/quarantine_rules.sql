{#
    Constants and limits of the quarantine rules in the staging base models
    (models/staging/base), which set aside rows that break the raw contract.
#}

{# The channels a campaign or a message event may name. #}
{% macro accepted_channels() -%}
    {{ return(['push', 'kakao', 'sms', 'email', 'in_app']) }}
{%- endmacro %}

{# The event types of a message event. #}
{% macro accepted_event_types() -%}
    {{ return(['send', 'deliver', 'fail', 'open', 'click', 'holdout']) }}
{%- endmacro %}

{# A list of strings as the inside of a SQL in (...) list. #}
{% macro quoted_list(values) -%}
    {%- for value in values -%}
        '{{ value }}'{% if not loop.last %}, {% endif %}
    {%- endfor -%}
{%- endmacro %}

{#
    Whether a parsed timestamp is usable: present and not before 1900. Text
    that does not parse is NULL already; the floor also catches -infinity and
    the year 1, which some exports write for an unknown time and which would
    overflow the window arithmetic.
#}
{% macro is_usable_timestamp(column) -%}
    coalesce(
        {{ column }} >= cast('1900-01-01' as {{
            api.Column.translate_type('timestamp')
        }}),
        false
    )
{%- endmacro %}

{#
    The latest instant an event may have: the time this build started plus
    the future_tolerance_hours var. run_started_at is one instant for the
    whole build, so every model draws the line at the same place.
#}
{% macro future_timestamp_limit() -%}
    {%- set hours = var('future_tolerance_hours') -%}
    {%- if hours is not integer or hours < 0 -%}
        {{ exceptions.raise_compiler_error(
            'future_tolerance_hours (a var in dbt_project/dbt_project.yml): '
            ~ 'expected a whole number of hours, 0 or more, got ' ~ hours
        ) }}
    {%- endif -%}
    {%- set build_started = (
        "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S')
        ~ "' as " ~ api.Column.translate_type('timestamp') ~ ")"
    ) -%}
    {{ dbt.dateadd('hour', hours, build_started) }}
{%- endmacro %}
