-- What seisan expired from each lot on each day (its own expiry, recomputed from the programme rules, and
-- points a cancel gave back to an already expired lot, which lapse at once), in the shape of the platform's
-- expire events: one per lot and day, for the pair platform_expiries.
with

movements as (
    select * from {{ ref('int_lot_movements') }}
    where movement_kind in ('expire', 'lapse')
),

expiries as (
    select
        lot_event_id,
        business_date as expiry_date,
        any_value(municipality_code) as municipality_code,
        any_value(mykey_id) as mykey_id,
        any_value(program_code) as program_code,
        sum(amount_yen) as expired_yen,
    from movements
    group by lot_event_id, business_date
    -- the engine writes an expire row for every lot at its expiry date, 0 included; the platform only when
    -- points lapse
    having sum(amount_yen) > 0
),

lots as (
    -- lineage: the ledger row that created the lot
    select event_id, file_sha256, line_number from {{ ref('stg_platform__ledger') }}
),

ledger_days as (
    -- the days whose platform ledger has arrived (the platform writes its expire events in the day's ledger)
    select distinct business_date from {{ ref('stg_platform__ledger') }}
),

final as (
    select
        expiries.*,
        ledger_days.business_date is null as awaiting_ledger,
        lots.file_sha256,
        lots.line_number,
    from expiries
    left join lots on expiries.lot_event_id = lots.event_id
    left join ledger_days on expiries.expiry_date = ledger_days.business_date
)

select * from final
