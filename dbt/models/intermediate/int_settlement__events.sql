-- Every use and cancel, with the use it settles against: the one place the settlement models import the ledger.
-- A cancel settles against its USE's merchant (FORMATS.md "Cancels in settlement"); the use is the cancel_of
-- event of the same resident. A cancel naming another merchant, or none, is flagged and still settled against
-- the use's merchant; a cancel whose use is not found settles nothing (its whole amount exceeds the use).
with

ledger as (
    select
        event_id,
        event_type,
        event_ts,
        event_date,
        municipality_code,
        mykey_id,
        merchant_id,
        cancel_of,
        amount_yen,
        file_sha256,
        line_number,
    from {{ ref('stg_platform__ledger') }}
    where event_type in ('use', 'cancel')
),

uses as (
    select event_id, municipality_code, mykey_id, merchant_id, event_date, amount_yen
    from ledger
    where event_type = 'use'
),

final as (
    select
        ledger.event_id,
        ledger.event_type,
        ledger.event_ts,
        ledger.event_date,
        ledger.municipality_code,
        ledger.mykey_id,
        ledger.amount_yen,
        ledger.merchant_id as named_merchant_id,
        ledger.cancel_of,
        uses.event_id as use_event_id,
        uses.event_date as use_date,
        uses.amount_yen as use_amount_yen,
        uses.merchant_id as merchant_id,
        ledger.event_type = 'cancel' and uses.event_id is not null
            and ledger.merchant_id is distinct from uses.merchant_id as is_cancel_merchant_mismatch,
        ledger.file_sha256,
        ledger.line_number,
    from ledger
    left join uses
        on uses.event_id = case when ledger.event_type = 'use' then ledger.event_id else ledger.cancel_of end
        and uses.municipality_code = ledger.municipality_code
        and uses.mykey_id = ledger.mykey_id
)

select * from final
