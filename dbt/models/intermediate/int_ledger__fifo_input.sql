with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
),

lots as (
    select * from {{ ref('int_point_lots__dated') }}
),

settlement_events as (
    select event_id, merchant_id from {{ ref('int_settlement__events') }}
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
        -- a use or cancel posts to the merchant it settles against: a cancel's is its use's
        case when ledger.event_type in ('use', 'cancel') then settlement_events.merchant_id end as merchant_id,
    from ledger
    left join lots
        on ledger.event_id = lots.lot_event_id
    left join settlement_events
        on ledger.event_id = settlement_events.event_id
    where ledger.event_type <> 'expire'
)

select * from final
