with

source as (

    select * from {{ source('raw', 'report_goals') }}

),

final as (

    select
        report,
        goal,
        event_key,
        value_property,
        dedupe_property
    from source

)

select * from final
