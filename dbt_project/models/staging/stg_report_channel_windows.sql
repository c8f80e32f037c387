with

source as (

    select * from {{ source('raw', 'report_channel_windows') }}

),

final as (

    select
        report,
        channel,
        cast(direct_window_hours as {{ dbt.type_int() }})
            as direct_window_hours,
        cast(indirect_window_hours as {{ dbt.type_int() }})
            as indirect_window_hours
    from source

)

select * from final
