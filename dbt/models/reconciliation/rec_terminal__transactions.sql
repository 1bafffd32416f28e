-- The terminal side of terminal record <-> platform use/cancel: every verified use and cancel record.
with

records as (
    select * from {{ ref('stg_terminal__records') }}
),

final as (
    select
        auth_id,
        record_type as transaction_type,
        record_date,
        ts,
        terminal_id,
        seq,
        merchant_id,
        municipality_code,
        mykey_id,
        amount_yen,
        file_sha256,
        line_number,
    from records
)

select * from final
