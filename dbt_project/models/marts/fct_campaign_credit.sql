-- One row per report, campaign (inside the report's target), goal and credit
-- model: the conversions and value the campaign's touches earned. Every
-- conversion with at least one touch hands out exactly 1 per model, so for a
-- report, goal and model the credited columns add up across campaigns to the
-- touched conversions and their value. A campaign with no touch has a row of
-- zeros, so every campaign of the report can be compared.
with

reports as (

    select * from {{ ref('stg_report_definitions') }}

),

goals as (

    select * from {{ ref('stg_report_goals') }}

),

report_campaigns as (

    select * from {{ ref('int_report_campaigns') }}

),

conversion_credit as (

    select * from {{ ref('fct_conversion_credit') }}

),

credit_models as (

    {{ credit_models_relation() }}

),

credited as (

    select
        report,
        campaign_id,
        goal,
        credit_model,
        count(distinct conversion_id) as touched_conversions,
        sum(credit) as credited_conversions,
        sum(value_credit) as credited_value
    from conversion_credit
    group by report, campaign_id, goal, credit_model

),

grid as (

    select
        report_campaigns.report,
        report_campaigns.campaign_id,
        goals.goal,
        credit_models.credit_model,
        reports.definition_hash as report_hash
    from report_campaigns
    inner join reports
        on report_campaigns.report = reports.report
    inner join goals
        on report_campaigns.report = goals.report
    cross join credit_models

),

final as (

    select
        grid.report,
        grid.campaign_id,
        grid.goal,
        grid.credit_model,
        grid.report_hash,
        cast(
            coalesce(credited.touched_conversions, 0) as {{ dbt.type_bigint() }}
        ) as touched_conversions,
        cast(
            coalesce(credited.credited_conversions, 0) as numeric(28, 6)
        ) as credited_conversions,
        cast(coalesce(credited.credited_value, 0) as numeric(28, 6))
            as credited_value
    from grid
    left join credited
        on
            grid.report = credited.report
            and grid.campaign_id = credited.campaign_id
            and grid.goal = credited.goal
            and grid.credit_model = credited.credit_model

)

select * from final
