{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['municipality_code', 'mykey_id', 'business_date'],
          pre_hook="{{ delete_recomputed_partitions() }}") }}

with

movements as (
    select * from {{ ref('int_lot_movements') }}
),

{% if is_incremental() %}
touched_partitions as (
    select distinct municipality_code, mykey_id, business_date
    from movements
    where computed_for_date >= date '{{ recomputed_since() }}'
),
{% endif %}

final as (
    select
        movements.event_id || '|' || movements.lot_event_id as consumption_id,
        movements.event_id,
        movements.event_type,
        coalesce(movements.use_event_id, movements.event_id) as use_event_id,
        movements.lot_event_id,
        movements.municipality_code,
        movements.mykey_id,
        movements.business_date,
        movements.movement_ts,
        movements.merchant_id,
        movements.program_code,
        movements.funding,
        movements.lot_expiry_date,
        movements.allocation_seq,
        movements.movement_kind,
        movements.amount_yen,
        -movements.lot_delta_yen as net_consumed_yen,
    from movements
    {% if is_incremental() %}
    inner join touched_partitions using (municipality_code, mykey_id, business_date)
    {% endif %}
    where movements.movement_kind in ('consume', 'restore')
)

select * from final
