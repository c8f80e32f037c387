-- One row per report, goal, conversion, credited campaign and attribution
-- type. When several messages of one campaign cover a conversion it is still
-- one conversion for that campaign; the row names the message whose anchor
-- came last before it, the one an analyst would look at first.
with

pairs as (

    select * from {{ ref('int_conversion_message_pairs') }}

),

typed as (

    select
        report,
        goal,
        conversion_id,
        person_id,
        converted_at,
        conversion_value,
        campaign_id,
        message_id,
        'direct' as attribution_type,
        first_clicked_at as anchor_at
    from pairs
    where is_direct

    union all

    select
        report,
        goal,
        conversion_id,
        person_id,
        converted_at,
        conversion_value,
        campaign_id,
        message_id,
        'indirect' as attribution_type,
        -- A conversion that is indirect only because it is direct (its
        -- click came before the delivery receipt) is anchored on the click.
        case
            when in_receipt_window then received_at
            else first_clicked_at
        end as anchor_at
    from pairs
    where is_indirect

),

ranked as (

    select
        *,
        row_number() over (
            partition by
                report, goal, conversion_id, campaign_id, attribution_type
            order by anchor_at desc, message_id asc
        ) as anchor_rank
    from typed

),

final as (

    select
        report,
        goal,
        conversion_id,
        campaign_id,
        attribution_type,
        person_id,
        message_id,
        anchor_at,
        converted_at,
        cast(
            {{ dbt.datediff('anchor_at', 'converted_at', 'second') }}
            as {{ type_double() }}
        ) / 3600 as hours_from_anchor,
        cast(conversion_value as numeric(28, 6)) as conversion_value
    from ranked
    where anchor_rank = 1

)

select * from final
