-- One row per report, goal, conversion, credited campaign and attribution
-- type, for drilling down from the performance mart. The crediting rules
-- live in int_attributed_conversions.
with

attributed as (

    select * from {{ ref('int_attributed_conversions') }}

),

final as (

    select
        report,
        goal,
        conversion_id,
        campaign_id,
        attribution_type,
        credit_mode,
        report_hash,
        person_id,
        message_id,
        received_channel,
        anchor_at,
        converted_at,
        hours_from_anchor,
        conversion_value
    from attributed

)

select * from final
