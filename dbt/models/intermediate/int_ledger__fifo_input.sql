with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
),

lots as (
    select * from {{ ref('int_point_lots__dated') }}
),

final as (
    select
        ledger.event_id,
        ledger.event_ts,
        ledger.event_date,
        ledger.municipality_code,
        ledger.mykey_id,
        ledger.event_type,
        ledger.amount_yen,
        ledger.program_code,
        lots.funding,
        lots.expiry_date as lot_expiry_date,
        lots.lot_event_id is not null as is_lot,
        ledger.cancel_of,
        ledger.merchant_id,
    from ledger
    left join lots
        on ledger.event_id = lots.lot_event_id
    where ledger.event_type <> 'expire'
)

select * from final
