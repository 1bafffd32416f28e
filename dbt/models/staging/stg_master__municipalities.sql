with

source as (
    select * from {{ source('raw', 'master_municipalities') }}
),

final as (
    select
        business_date as snapshot_date,
        municipality_code,
        name,
        name_kana,
        prefecture,
        settlement_cycle,
        settlement_day,
        cast(min_payout_yen as bigint) as min_payout_yen,
        fee_bearer,
        payer_bank_code,
        payer_branch_code,
        payer_account_type,
        payer_account_number,
        client_code,
        client_name_kana,
    from source
)

select * from final
