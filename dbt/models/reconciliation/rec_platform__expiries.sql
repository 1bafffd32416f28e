-- The platform's expire events (one per lot and day), for the pair platform_expiries.
with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
    where event_type = 'expire'
),

final as (
    select
        event_id,
        lot_event_id,
        event_date as expiry_date,
        municipality_code,
        program_code,
        mykey_id,
        amount_yen as expired_yen,
        business_date,
        file_sha256,
        line_number,
    from ledger
)

select * from final
