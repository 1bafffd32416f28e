with

source as (
    select * from {{ source('raw', 'master_merchants') }}
),

final as (
    select
        business_date as snapshot_date,
        merchant_id,
        name,
        name_kana,
        category,
        channel,
        bank_code,
        branch_code,
        account_type,
        account_number,
        account_holder_kana,
        status as merchant_status,
    from source
)

select * from final
