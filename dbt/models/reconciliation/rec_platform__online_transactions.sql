-- The platform side of online sales <-> platform: ledger uses and cancels made online (partner_txn_id is the
-- partner's order id).
with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
),

final as (
    select
        partner_code,
        partner_txn_id as order_id,
        event_type as transaction_type,
        event_date,
        event_ts,
        event_id,
        municipality_code,
        merchant_id,
        mykey_id,
        amount_yen,
        file_sha256,
        line_number,
    from ledger
    where channel = 'online' and event_type in ('use', 'cancel')
)

select * from final
