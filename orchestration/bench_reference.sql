-- Direct and indirect converters per report, goal and campaign, computed the
-- way common public attribution packages do it: a person's touches and
-- conversions in one ordered stream, with window functions carrying the
-- last touch forward onto each conversion. It reads the same received
-- messages and goal conversions the product's attribution models read, and
-- covers the independent credit rule only: a conversion is direct for a
-- campaign when it falls in (last click, last click + direct window], and
-- indirect when it is direct or falls in (last receipt, last receipt +
-- indirect window], each window that of the channel the message was
-- received on.
with

messages as (

    select * from intermediate.int_message_receipts
    where is_received

),

report_campaigns as (

    select * from intermediate.int_report_campaigns

),

channel_windows as (

    select * from staging.stg_report_channel_windows

),

conversions as (

    select * from intermediate.int_goal_conversions

),

touches as (

    select
        report_campaigns.report,
        messages.campaign_id,
        messages.person_id,
        messages.received_at,
        messages.first_clicked_at,
        channel_windows.direct_window_hours,
        channel_windows.indirect_window_hours
    from messages
    inner join report_campaigns
        on messages.campaign_id = report_campaigns.campaign_id
    inner join channel_windows
        on
            report_campaigns.report = channel_windows.report
            and messages.received_channel = channel_windows.channel

),

touched_campaigns as (

    select distinct
        report,
        campaign_id,
        person_id
    from touches

),

-- A conversion sorts before a touch at the same instant, so a touch never
-- covers a conversion at its own anchor: windows are half-open.
stream as (

    select
        report,
        null as goal,
        campaign_id,
        person_id,
        received_at as event_at,
        1 as event_order,
        received_at,
        indirect_window_hours,
        null::timestamp as clicked_at,
        null::integer as direct_window_hours
    from touches

    union all

    select
        report,
        null as goal,
        campaign_id,
        person_id,
        first_clicked_at as event_at,
        1 as event_order,
        null as received_at,
        null as indirect_window_hours,
        first_clicked_at as clicked_at,
        direct_window_hours
    from touches
    where first_clicked_at is not null

),

-- Every touch stream is read once per goal of its report, as a package
-- builds one path table per conversion type.
goal_streams as (

    select
        stream.* exclude (goal),
        goals.goal
    from stream
    inner join (select distinct report, goal from conversions) as goals
        on stream.report = goals.report

    union all by name

    select
        touched_campaigns.report,
        conversions.goal,
        touched_campaigns.campaign_id,
        conversions.person_id,
        conversions.converted_at as event_at,
        0 as event_order
    from conversions
    inner join touched_campaigns
        on
            conversions.report = touched_campaigns.report
            and conversions.person_id = touched_campaigns.person_id

),

carried as (

    select
        *,
        last_value(received_at ignore nulls) over touch_path
            as last_received_at,
        last_value(indirect_window_hours ignore nulls) over touch_path
            as last_indirect_hours,
        last_value(clicked_at ignore nulls) over touch_path
            as last_clicked_at,
        last_value(direct_window_hours ignore nulls) over touch_path
            as last_direct_hours
    from goal_streams
    window touch_path as (
        partition by report, goal, campaign_id, person_id
        order by event_at, event_order
        rows between unbounded preceding and current row
    )

),

attributed as (

    select
        report,
        goal,
        campaign_id,
        person_id,
        coalesce(
            event_at > last_clicked_at
            and event_at <= last_clicked_at
            + to_hours(last_direct_hours::bigint),
            false
        ) as is_direct,
        coalesce(
            event_at > last_received_at
            and event_at <= last_received_at
            + to_hours(last_indirect_hours::bigint),
            false
        ) as in_receipt_window
    from carried
    where event_order = 0

),

final as (

    select
        report,
        goal,
        campaign_id,
        count(distinct case when is_direct then person_id end)
            as direct_converters,
        count(
            distinct case
                when is_direct or in_receipt_window then person_id
            end
        ) as indirect_converters
    from attributed
    group by report, goal, campaign_id

)

select * from final
