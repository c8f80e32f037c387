with

source as (

    select * from {{ source('raw', 'report_target_channels') }}

),

final as (

    select
        report,
        channel
    from source

)

select * from final
