with

movements as (
    select * from {{ ref('int_lot_movements') }}
    where event_type in ('use', 'cancel')
),

periods as (
    select * from {{ ref('int_settlement__periods') }}
),

statuses as (
    select * from {{ ref('int_settlement__merchant_status') }}
),

ledger as (
    select event_id, amount_yen from {{ ref('stg_platform__ledger') }}
    where event_type in ('use', 'cancel')
),

-- Signed settlement effect of each movement: a use adds what it took (from lots, or uncovered), a cancel
-- takes back what it gave back.
movement_amounts as (
    select
        event_id,
        sum(case when movement_kind in ('consume', 'shortfall') then amount_yen
                 when movement_kind in ('restore', 'unrestored') then -amount_yen else 0 end) as net_yen,
        sum(case when funding = 'municipal_budget' and movement_kind = 'consume' then amount_yen
                 when funding = 'municipal_budget' and movement_kind = 'restore' then -amount_yen else 0 end)
            as municipal_budget_yen,
        sum(case when funding = 'partner' and movement_kind = 'consume' then amount_yen
                 when funding = 'partner' and movement_kind = 'restore' then -amount_yen else 0 end) as partner_yen,
        sum(case when funding = 'prepaid' and movement_kind = 'consume' then amount_yen
                 when funding = 'prepaid' and movement_kind = 'restore' then -amount_yen else 0 end) as prepaid_yen,
        sum(case when movement_kind = 'shortfall' then amount_yen
                 when movement_kind = 'unrestored' then -amount_yen
                 when movement_kind in ('consume', 'restore') and funding is null
                     then case when movement_kind = 'consume' then amount_yen else -amount_yen end
                 else 0 end) as unallocated_yen,
    from movements
    group by event_id
),

events as (
    select
        periods.*,
        statuses.settlement_status,
        ledger.amount_yen as event_amount_yen,
        movement_amounts.net_yen,
        movement_amounts.municipal_budget_yen,
        movement_amounts.partner_yen,
        movement_amounts.prepaid_yen,
        movement_amounts.unallocated_yen,
    from periods
    inner join movement_amounts using (event_id)
    inner join statuses using (event_id)
    inner join ledger using (event_id)
),

items as (
    select
        md5(concat_ws('|', municipality_code, merchant_id, period_start_date, settlement_status)) as settlement_item_id,
        municipality_code,
        merchant_id,
        settlement_cycle,
        period_start_date,
        period_end_date,
        period_end_date as closing_date,
        period_end_date <= date '{{ var("business_date") }}' as is_period_closed,
        settlement_status,
        settlement_status = 'payable' as is_payable,
        count(*) filter (where event_type = 'use') as use_count,
        coalesce(sum(event_amount_yen) filter (where event_type = 'use'), 0) as use_amount_yen,
        count(*) filter (where event_type = 'cancel') as cancel_count,
        coalesce(sum(event_amount_yen) filter (where event_type = 'cancel'), 0) as cancel_amount_yen,
        sum(net_yen) as amount_yen,
        sum(municipal_budget_yen) as municipal_budget_yen,
        sum(partner_yen) as partner_yen,
        sum(prepaid_yen) as prepaid_yen,
        sum(unallocated_yen) as unallocated_yen,
    from events
    group by all
),

final as (
    -- A period whose cancels (of uses settled in earlier periods) exceed its uses nets negative: never paid
    -- from here (not is_payable); the payout step must offset it against the merchant's later payable items.
    select
        * replace (is_payable and amount_yen >= 0 as is_payable),
        amount_yen < 0 as is_negative,
    from items
)

select * from final
