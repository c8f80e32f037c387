with

source as (

    select * from {{ source('raw', 'campaigns') }}

),

cleaned as (

    select
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('campaign_name') }} as campaign_name,
        lower({{ clean_text('channel') }}) as channel,
        lower({{ clean_text('message_type') }}) as message_type,
        {{ parse_utc_timestamp('created_at') }} as created_at,
        _source_file,
        _source_row
    from source

),

-- A campaign listed in several files keeps its last definition: files are
-- read in name order, so a later export overrides an earlier one.
ranked as (

    select
        *,
        row_number() over (
            partition by campaign_id
            order by _source_file desc, _source_row desc
        ) as definition_rank
    from cleaned

),

final as (

    select
        campaign_id,
        coalesce(campaign_name, campaign_id) as campaign_name,
        channel,
        message_type,
        created_at
    from ranked
    where definition_rank = 1

)

select * from final
