with

source as (
    select * from {{ source('raw', 'master_fee_schedule') }}
),

final as (
    select
        business_date as snapshot_date,
        bank_code,
        relation,
        cast(min_amount as bigint) as min_amount_yen,
        cast(max_amount as bigint) as max_amount_yen,
        cast(fee_yen as bigint) as fee_yen,
        file_sha256,
        line_number,
    from source
)

select * from final
