{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='lot_event_id') }}

with

lots as (
    select * from {{ ref('int_point_lots__dated') }}
),

movements as (
    select * from {{ ref('int_lot_movements') }}
),

touched_lots as (
    -- A run recomputes whole residents from their restart date, and a late event can move points between ANY
    -- of the resident's lots (a late grant re-orders FIFO; an older lot may lose its consumption without getting
    -- a new movement row). So every lot of a resident with a row written in this run is rebuilt, not only the
    -- lots that got new rows.
    select distinct lot_event_id
    from movements
    where lot_event_id is not null
    {% if is_incremental() %}
        and (municipality_code, mykey_id) in (
            select (municipality_code, mykey_id)
            from movements
            where computed_for_date = date '{{ business_date() }}'
        )
    union
    -- a late snapshot naming a municipality (or a programme whose rules change nothing) moves no point: only
    -- these flags change
    select built.lot_event_id
    from {{ this }} as built
    inner join lots on built.lot_event_id = lots.lot_event_id
    where built.is_municipality_known <> lots.is_municipality_known
        or built.is_program_known <> lots.is_program_known
    {% endif %}
),

totals as (
    select
        lot_event_id,
        sum(case when movement_kind = 'consume' then amount_yen else 0 end) as consumed_yen,
        sum(case when movement_kind = 'restore' then amount_yen else 0 end) as restored_yen,
        sum(case when movement_kind in ('expire', 'lapse') then amount_yen else 0 end) as expired_yen,
        sum(lot_delta_yen) as remaining_yen,
        bool_or(movement_kind = 'expire') as is_expired,
        max(business_date) as last_movement_date,
    from movements
    where lot_event_id in (select lot_event_id from touched_lots)
    group by lot_event_id
),

final as (
    select
        lots.lot_event_id,
        lots.lot_type,
        lots.municipality_code,
        lots.mykey_id,
        lots.program_code,
        lots.funding,
        lots.partner_code,
        lots.granted_ts,
        lots.granted_date,
        lots.fiscal_year,
        lots.expiry_date,
        lots.amount_yen,
        totals.consumed_yen,
        totals.restored_yen,
        totals.expired_yen,
        totals.remaining_yen,
        totals.is_expired,
        totals.last_movement_date,
        lots.is_over_annual_cap,
        lots.is_program_known,
        lots.is_municipality_known,
    from lots
    inner join totals using (lot_event_id)
)

select * from final
