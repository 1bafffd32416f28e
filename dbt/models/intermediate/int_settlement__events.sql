-- Every use and cancel, with the use it settles against: the one place the settlement models import the ledger.
-- A cancel settles against its USE's merchant (FORMATS.md "Cancels in settlement"); the use is the cancel_of
-- event of the same resident. A cancel naming another merchant, or none, is flagged and still settled against
-- the use's merchant; a cancel whose use is not found settles nothing (its whole amount exceeds the use).
--
-- Incremental (delete+insert on event_id): a row depends only on the ledger, which only grows, so a build
-- computes the events not yet in this table and the cancels of a use among them (a use that arrived after its
-- cancel: the cancel's row changes from "use not found" to its use's); every other row stays as it is. A
-- normal day reads the ledger's event ids, not its history.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_id') }}

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

{% if is_incremental() %}
new_events as (
    select ledger.event_id, ledger.event_type
    from ledger
    left join {{ this }} as built using (event_id)
    where built.event_id is null
),

in_scope as (
    select event_id from new_events
    union
    select ledger.event_id
    from ledger
    inner join new_events as new_uses on ledger.cancel_of = new_uses.event_id
    where ledger.event_type = 'cancel' and new_uses.event_type = 'use'
),

{% endif %}
use_events as (
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
        use_events.event_id as use_event_id,
        use_events.event_date as use_date,
        use_events.amount_yen as use_amount_yen,
        use_events.merchant_id,
        ledger.event_type = 'cancel' and use_events.event_id is not null
            and (ledger.merchant_id is null or ledger.merchant_id <> use_events.merchant_id)
            as is_cancel_merchant_mismatch,
        ledger.file_sha256,
        ledger.line_number,
    from ledger
    {% if is_incremental() %}
    inner join in_scope using (event_id)
    {% endif %}
    left join use_events
        on case when ledger.event_type = 'use' then ledger.event_id else ledger.cancel_of end = use_events.event_id
        and ledger.municipality_code = use_events.municipality_code
        and ledger.mykey_id = use_events.mykey_id
)

select * from final
