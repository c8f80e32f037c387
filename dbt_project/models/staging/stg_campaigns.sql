-- One row per campaign: its last usable definition, as base_campaigns
-- judged it. Rows that break the contract are in quarantine.campaigns.
with

campaigns as (

    select * from {{ ref('base_campaigns') }}
    where row_status = 'staged'

),

final as (

    select
        campaign_id,
        coalesce(campaign_name, campaign_id) as campaign_name,
        channel,
        message_type,
        created_at,
        _source_file,
        _source_row
    from campaigns

)

select * from final
