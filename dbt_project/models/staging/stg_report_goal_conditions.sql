with

source as (

    select * from {{ source('raw', 'report_goal_conditions') }}

),

final as (

    select
        report,
        goal,
        cast(condition_index as {{ dbt.type_int() }}) as condition_index,
        property,
        op,
        value_text,
        cast(value_number as {{ type_double() }}) as value_number
    from source

)

select * from final
