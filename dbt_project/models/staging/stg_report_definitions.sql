with

source as (

    select * from {{ source('raw', 'report_definitions') }}

),

final as (

    select
        report,
        timezone,
        cast(window_hours as {{ dbt.type_int() }}) as window_hours,
        definition_hash
    from source

)

select * from final
