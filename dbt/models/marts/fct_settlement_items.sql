with

events as (
    select * from {{ ref('int_settlement__events') }}
),

periods as (
    select event_id, settlement_cycle, period_start_date, period_end_date
    from {{ ref('int_settlement__periods') }}
),

statuses as (
    select event_id, settlement_status from {{ ref('int_settlement__merchant_status') }}
),

-- Each event's settlement effect is the sum of its movements' settlement_yen (signed once, by the FIFO engine),
-- split by the funding of the lots it moved; what no lot covered (or a lot of unknown funding) is unallocated.
movement_amounts as (
    select
        event_id,
        sum(settlement_yen) as net_yen,
        sum(settlement_yen) filter (where funding = 'municipal_budget') as municipal_budget_yen,
        sum(settlement_yen) filter (where funding = 'partner') as partner_yen,
        sum(settlement_yen) filter (where funding = 'prepaid') as prepaid_yen,
        sum(settlement_yen) filter (where funding is null) as unallocated_yen,
        sum(amount_yen) filter (where movement_kind = 'cancel_excess') as cancel_excess_yen,
    from {{ ref('int_lot_movements') }}
    where event_type in ('use', 'cancel')
    group by event_id
),

settled as (
    -- a cancel whose use is not found settles nothing (no status): it is only a control break
    select
        events.event_id,
        events.event_type,
        events.municipality_code,
        events.merchant_id,
        periods.settlement_cycle,
        periods.period_start_date,
        periods.period_end_date,
        statuses.settlement_status,
        movement_amounts.net_yen,
        coalesce(movement_amounts.municipal_budget_yen, 0) as municipal_budget_yen,
        coalesce(movement_amounts.partner_yen, 0) as partner_yen,
        coalesce(movement_amounts.prepaid_yen, 0) as prepaid_yen,
        coalesce(movement_amounts.unallocated_yen, 0) as unallocated_yen,
        coalesce(movement_amounts.cancel_excess_yen, 0) as cancel_excess_yen,
    from events
    inner join periods using (event_id)
    inner join statuses using (event_id)
    inner join movement_amounts using (event_id)
    where statuses.settlement_status is not null
),

items as (
    select
        {{ surrogate_key(['municipality_code', 'merchant_id', 'period_start_date', 'settlement_status']) }}
            as settlement_item_id,
        municipality_code,
        merchant_id,
        settlement_cycle,
        period_start_date,
        period_end_date,
        period_end_date as closing_date,
        period_end_date <= date '{{ business_date() }}' as is_period_closed,
        settlement_status,
        settlement_status = 'payable' as is_payable,
        count(*) filter (where event_type = 'use') as use_count,
        coalesce(sum(net_yen) filter (where event_type = 'use'), 0) as use_amount_yen,
        count(*) filter (where event_type = 'cancel') as cancel_count,
        -coalesce(sum(net_yen) filter (where event_type = 'cancel'), 0) as cancel_amount_yen,
        sum(cancel_excess_yen) as cancel_excess_yen,
        sum(net_yen) as amount_yen,
        sum(municipal_budget_yen) as municipal_budget_yen,
        sum(partner_yen) as partner_yen,
        sum(prepaid_yen) as prepaid_yen,
        sum(unallocated_yen) as unallocated_yen,
    from settled
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
