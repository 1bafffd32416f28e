-- Per municipality: what settlement items with settlement_status 'payable' say is owed (positive items and
-- negative ones alike) = uses minus cancels at merchants designated for the municipality and active on the
-- use's date, computed here straight from the ledger and the dimensions.
with

ledger as (
    select * from {{ ref('stg_platform__ledger') }} where event_type in ('use', 'cancel')
),

uses as (
    select
        ledger.event_id,
        exists (
            select 1 from {{ ref('dim_designations') }} as d
            where d.municipality_code = ledger.municipality_code and d.merchant_id = ledger.merchant_id
                and ledger.event_date between d.in_force_from and coalesce(d.in_force_to, ledger.event_date)
        )
        and exists (
            select 1 from {{ ref('dim_merchants') }} as m
            where m.merchant_id = ledger.merchant_id and m.merchant_status = 'active'
                and ledger.event_date between m.valid_from and coalesce(m.valid_to, ledger.event_date)
        ) as is_payable,
    from ledger
    where ledger.event_type = 'use'
),

expected as (
    select
        ledger.municipality_code,
        sum(case when ledger.event_type = 'use' then ledger.amount_yen else -ledger.amount_yen end) as owed_yen,
    from ledger
    inner join uses on uses.event_id = coalesce(ledger.cancel_of, ledger.event_id)
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
