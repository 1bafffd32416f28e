with

source as (
    select * from {{ source('raw', 'partner_conversion') }}
),

final as (
    select
        partner_code,
        partner_txn_id,
        txn_ts,
        cast(txn_ts as date) as txn_date,
        mykey_id,
        municipality_code,
        cast(partner_points as bigint) as partner_points,
        cast(municipal_points as bigint) as municipal_points,
        cast(amount_due_yen as bigint) as amount_due_yen,
        status,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
