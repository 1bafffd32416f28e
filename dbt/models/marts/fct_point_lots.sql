{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='lot_event_id') }}

with

lots as (
    select * from {{ ref('int_point_lots__dated') }}
),

movements as (
    select * from {{ ref('int_lot_movements') }}
),

{% if is_incremental() %}
restarts as (
    -- each resident this run replayed, from its restart date: int_lot_movements rewrote every (resident, day)
    -- from that date on, and left every earlier row as it was
    select municipality_code, mykey_id, min(business_date) as restart_date
    from movements
    where computed_for_date >= date '{{ recomputed_since() }}'
    group by all
),
{% endif %}

touched_lots as (
    -- A lot's totals are the sums of its movements. A replay from a resident's restart date can change a lot's
    -- movements only on or after that date: the lots with a row this run wrote, and the lots whose last movement
    -- (as built before) was on or after that date, which may have lost a row without getting a new one (a late
    -- grant re-orders FIFO, and an older lot loses its consumption). A lot whose every movement is older than
    -- the restart date is unchanged: the year of expired lots a resident holds is not rebuilt every day.
    select distinct lot_event_id
    from movements
    where lot_event_id is not null
    {% if is_incremental() %}
        and computed_for_date >= date '{{ recomputed_since() }}'
    union
    select built.lot_event_id
    from {{ this }} as built
    inner join restarts using (municipality_code, mykey_id)
    where built.last_movement_date >= restarts.restart_date
    union
    -- a late snapshot can change what the lot IS and move no point: naming its municipality or programme, or a
    -- programme's annual cap (is_over_annual_cap); every lot whose own columns changed is rebuilt. Only a lot
    -- int_point_lots__dated wrote again since recomputed_since() can have changed (its computed_for_date)
    select built.lot_event_id
    from {{ this }} as built
    inner join lots on built.lot_event_id = lots.lot_event_id
    where lots.computed_for_date >= date '{{ recomputed_since() }}'
        and (built.is_municipality_known is distinct from lots.is_municipality_known
            or built.is_program_known is distinct from lots.is_program_known
            or built.is_over_annual_cap is distinct from lots.is_over_annual_cap
            or built.funding is distinct from lots.funding
            or built.expiry_date is distinct from lots.expiry_date
            or built.fiscal_year is distinct from lots.fiscal_year)
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
