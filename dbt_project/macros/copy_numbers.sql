{#
    Two CTEs that number the copies of each event_id in load order (by
    _source_file, then _source_row), apart for rows that passed the rules
    (quarantine_reason null) and rows that did not, so a broken copy never
    displaces a good one. `copy_numbers` has a row only for copies of an
    event_id loaded more than once: a window over every row sorted the whole
    table to number copies that are almost all alone, while grouping first
    leaves the sort only the few repeated ids. A row missing from it is the
    only copy of its event_id, copy 1. The grouping is by the event_id's hash,
    which holds eight bytes per id instead of the text: ids that share a hash
    are only candidates, and the window numbers them by the event_id itself.
#}
{% macro copy_numbers_ctes(rows_cte) -%}
repeated_event_keys as (

    select
        {{ key_hash('event_id') }} as event_key,
        quarantine_reason is null as passed
    from {{ rows_cte }}
    group by {{ key_hash('event_id') }}, quarantine_reason is null
    having count(*) > 1

),

copy_numbers as (

    select
        {{ rows_cte }}._source_file,
        {{ rows_cte }}._source_row,
        row_number() over (
            partition by
                {{ rows_cte }}.event_id,
                {{ rows_cte }}.quarantine_reason is null
            order by {{ rows_cte }}._source_file, {{ rows_cte }}._source_row
        ) as copy_number
    from {{ rows_cte }}
    inner join repeated_event_keys
        on
            {{ key_hash(rows_cte ~ '.event_id') }}
            = repeated_event_keys.event_key
            and (
                {{ rows_cte }}.quarantine_reason is null
            ) = repeated_event_keys.passed
)
{%- endmacro %}
