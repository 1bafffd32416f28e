with

source as (
    select * from {{ source('raw', 'master_designations') }}
),

final as (
    select
        business_date as snapshot_date,
        municipality_code,
        merchant_id,
        valid_from as designated_from,
        valid_to as designated_to,
    from source
)

select * from final
