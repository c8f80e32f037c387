{#
    Two CTEs that number the copies of each event_id in load order (by
    _source_file, then _source_row), apart for rows that passed the rules
    (quarantine_reason null) and rows that did not, so a broken copy never
    displaces a good one. `copy_numbers` has a row only for copies of an
    event_id loaded more than once: a window over every row sorted the whole
    table to number copies that are almost all alone, while grouping first
    leaves the sort only the few repeated ids. A row missing from it is the
    only copy of its event_id, copy 1.
#}
{% macro copy_numbers_ctes(rows_cte) -%}
repeated_event_ids as (

    select
        event_id,
        quarantine_reason is null as passed
    from {{ rows_cte }}
    group by event_id, quarantine_reason is null
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
    inner join repeated_event_ids
        on
            {{ rows_cte }}.event_id = repeated_event_ids.event_id
            and (
                {{ rows_cte }}.quarantine_reason is null
            ) = repeated_event_ids.passed
)
{%- endmacro %}
