with

source as (
    select * from {{ source('raw', 'terminal_records') }}
),

final as (
    select
        terminal_id,
        seq,
        type as record_type,
        ts,
        cast(ts as date) as record_date,
        merchant_id,
        municipality_code,
        mykey_id,
        cast(amount as bigint) as amount_yen,
        auth_id,
        cancel_of,
        card_cert_serial,
        prev_hash,
        hash,
        upload_number,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
