-- Per municipality: what settlement items with settlement_status 'payable' say is owed (positive items and
-- negative ones alike) = uses minus what their cancels took back, at merchants designated for the municipality
-- and active on the use's date, computed here from the ledger, the dimensions and the cancel rule: a cancel
-- takes back at most what its use still holds after the cancels before it (in event time order); a cancel
-- before its use (in event time order) or of no use of the same resident takes back nothing.
with

ledger as (
    -- events after the business date are not built yet
    select * from {{ ref('stg_platform__ledger') }}
    where event_type in ('use', 'cancel') and event_date <= date '{{ business_date() }}'
),

merchants as (
    select * from {{ ref('dim_merchants') }}
),

uses as (
    select
        ledger.event_id,
        ledger.event_ts,
        ledger.municipality_code,
        ledger.mykey_id,
        ledger.amount_yen,
        exists (
            select 1 from {{ ref('dim_designations') }} as d
            where d.municipality_code = ledger.municipality_code and d.merchant_id = ledger.merchant_id
                and ledger.event_date between d.in_force_from and coalesce(d.in_force_to, ledger.event_date)
        )
        and exists (
            select 1 from merchants
            where merchants.merchant_id = ledger.merchant_id and merchants.merchant_status = 'active'
                and {{ in_force('merchants', 'ledger.event_date', named_later=true) }}
        )
        and exists (
            select 1 from {{ ref('dim_municipalities') }} as municipalities
            where municipalities.municipality_code = ledger.municipality_code
                and {{ in_force('municipalities', 'ledger.event_date', named_later=true) }}
        ) as is_payable,
    from ledger
    where ledger.event_type = 'use'
),

cancels as (
    select
        ledger.event_id,
        uses.event_id as use_event_id,
        uses.amount_yen as use_amount_yen,
        ledger.amount_yen,
        coalesce(sum(ledger.amount_yen) over (
            partition by uses.event_id order by ledger.event_ts, ledger.event_id
            rows between unbounded preceding and 1 preceding
        ), 0) as asked_before_yen,
    from ledger
    inner join uses
        on uses.event_id = ledger.cancel_of
        and uses.municipality_code = ledger.municipality_code and uses.mykey_id = ledger.mykey_id
    where ledger.event_type = 'cancel'
        and (ledger.event_ts > uses.event_ts or (ledger.event_ts = uses.event_ts and ledger.event_id > uses.event_id))
),

taken_back as (
    -- what the cancels before asked is capped at the use's amount, so what is left is never below 0
    select
        use_event_id,
        sum(least(amount_yen, greatest(use_amount_yen - asked_before_yen, 0))) as taken_back_yen,
    from cancels
    group by all
),

expected as (
    select uses.municipality_code, sum(uses.amount_yen - coalesce(taken_back.taken_back_yen, 0)) as owed_yen
    from uses
    left join taken_back on taken_back.use_event_id = uses.event_id
    where uses.is_payable
    group by all
),

actual as (
    -- negative items (settlement_status payable but is_payable false) are owed back by the merchant
    select municipality_code, sum(amount_yen) as owed_yen
    from {{ ref('fct_settlement_items') }}
    where settlement_status = 'payable'
    group by all
)

select *
from expected
full outer join actual using (municipality_code)
where coalesce(expected.owed_yen, 0) <> coalesce(actual.owed_yen, 0)
