with

source as (

    select * from {{ source('raw', 'report_definitions') }}

),

final as (

    select
        report,
        timezone,
        cast(window_hours as {{ dbt.type_int() }}) as window_hours,
        credit_mode,
        cast(lookback_hours as {{ dbt.type_int() }}) as lookback_hours,
        cast(half_life_hours as {{ dbt.type_int() }}) as half_life_hours,
        cast(sent_from_date as date) as sent_from_date,
        cast(sent_to_date as date) as sent_to_date,
        definition_hash
    from source

)

select * from final
