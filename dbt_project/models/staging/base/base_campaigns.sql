-- One row per raw campaign row, cleaned, with its verdict: staged (the
-- definition kept), duplicate (a definition that a later one of the same
-- campaign replaces) or quarantined, with the first rule it breaks. The
-- rules live here only: stg_campaigns keeps the staged rows and
-- quarantine.campaigns lists the quarantined ones.
with

source as (

    select * from {{ source('raw', 'campaigns') }}

),

cleaned as (

    select
        _source_file,
        _source_row,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('campaign_name') }} as campaign_name,
        lower({{ clean_text('channel') }}) as channel,
        lower({{ clean_text('message_type') }}) as message_type,
        {{ clean_text('created_at') }} as created_at_text
    from source

),

typed as (

    select
        *,
        {{ parse_utc_timestamp('created_at_text') }} as created_at
    from cleaned

),

checked as (

    select
        *,
        case
            when campaign_id is null then 'missing_campaign_id'
            when channel is null then 'missing_channel'
            when channel not in ({{ quoted_list(accepted_channels()) }})
                then 'unknown_channel'
            when
                created_at_text is not null
                and not {{ is_usable_timestamp('created_at') }}
                then 'unparseable_created_at'
        end as quarantine_reason
    from typed

),

-- A campaign listed in several files keeps its last usable definition:
-- files are read in name order, so a later export overrides an earlier one.
ranked as (

    select
        *,
        row_number() over (
            partition by campaign_id, quarantine_reason is null
            order by _source_file desc, _source_row desc
        ) as definition_rank
    from checked

),

final as (

    select
        _source_file,
        _source_row,
        campaign_id,
        campaign_name,
        channel,
        message_type,
        created_at,
        case
            when quarantine_reason is not null then 'quarantined'
            when definition_rank > 1 then 'duplicate'
            else 'staged'
        end as row_status,
        quarantine_reason
    from ranked

)

select * from final
