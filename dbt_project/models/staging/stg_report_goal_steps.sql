with

source as (

    select * from {{ source('raw', 'report_goal_steps') }}

),

final as (

    select
        report,
        goal,
        cast(step_number as {{ dbt.type_int() }}) as step_number,
        event_key
    from source

)

select * from final
