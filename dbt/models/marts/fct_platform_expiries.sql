with

platform_expiries as (
    select * from {{ ref('stg_platform__ledger') }}
    where event_type = 'expire'
),

own_expiries as (
    select lot_event_id, business_date, sum(amount_yen) as seisan_expired_yen
    from {{ ref('int_lot_movements') }}
    where movement_kind in ('expire', 'lapse')
    group by all
),

final as (
    select
        platform_expiries.event_id,
        platform_expiries.event_ts,
        platform_expiries.event_date as business_date,
        platform_expiries.municipality_code,
        platform_expiries.program_code,
        platform_expiries.mykey_id,
        platform_expiries.lot_event_id,
        platform_expiries.amount_yen as platform_expired_yen,
        coalesce(own_expiries.seisan_expired_yen, 0) as seisan_expired_yen,
        platform_expiries.amount_yen = coalesce(own_expiries.seisan_expired_yen, 0) as is_matching,
    from platform_expiries
    left join own_expiries
        on platform_expiries.lot_event_id = own_expiries.lot_event_id
        and platform_expiries.event_date = own_expiries.business_date
)

select * from final
