-- The platform side of conversions <-> conversion grants: ledger grants that name a partner conversion.
with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
),

final as (
    select
        partner_code,
        partner_txn_id,
        event_date,
        event_ts,
        event_id,
        program_code,
        municipality_code,
        mykey_id,
        amount_yen,
        file_sha256,
        line_number,
    from ledger
    where event_type = 'grant' and partner_txn_id is not null
)

select * from final
