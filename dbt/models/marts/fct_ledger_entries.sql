{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['municipality_code', 'mykey_id', 'business_date'],
          pre_hook="{{ delete_recomputed_partitions() }}") }}

with

movements as (
    -- a cancel's excess over its use moves nothing: no posting
    select * from {{ ref('int_lot_movements') }}
    where amount_yen <> 0 and movement_kind <> 'cancel_excess'
),

lots as (
    select lot_event_id, lot_type, partner_code from {{ ref('int_point_lots__dated') }}
),

{% if is_incremental() %}
touched_partitions as (
    select distinct municipality_code, mykey_id, business_date
    from {{ ref('int_lot_movements') }}
    where computed_for_date >= date '{{ recomputed_since() }}'
),
{% endif %}

accounts as (
    -- Each movement is one balanced pair: (debit account, credit account) for its amount.
    select
        movements.*,
        lots.partner_code,
        case
            when movement_kind = 'create' and event_type = 'charge' then 'acquirer_receivable'
            when movement_kind = 'create' and event_type = 'adjust' then 'point_adjustment'
            when movement_kind = 'create' and funding = 'partner' then 'partner_receivable'
            when movement_kind = 'create' and funding = 'prepaid' then 'acquirer_receivable'
            when movement_kind = 'create' then 'municipal_point_expense'
            when movement_kind in ('consume', 'expire', 'lapse') then 'resident_point_liability'
            when movement_kind = 'restore' then 'merchant_payable'
            when movement_kind = 'shortfall' then 'unallocated_point_suspense'
            when movement_kind = 'unrestored' then 'merchant_payable'
        end as debit_account,
        case
            when movement_kind in ('create', 'restore') then 'resident_point_liability'
            -- a negative adjust takes points back for the adjustment account, also what no lot covered:
            -- only uses and cancels ever touch merchant_payable
            when movement_kind in ('consume', 'shortfall') and event_type = 'adjust' then 'point_adjustment'
            when movement_kind in ('consume', 'shortfall') and event_type = 'use' then 'merchant_payable'
            when movement_kind in ('expire', 'lapse') then 'expired_points'
            when movement_kind = 'unrestored' then 'unallocated_point_suspense'
        end as credit_account,
    from movements
    left join lots using (lot_event_id)
    {% if is_incremental() %}
    inner join touched_partitions using (municipality_code, mykey_id, business_date)
    {% endif %}
),

postings as (
    -- side and account are the mart's column names (keywords to sqlfluff)
    select
        *,
        'debit' as side,  -- noqa: RF04
        debit_account as account,  -- noqa: RF04
        amount_yen as debit_yen,
        0 as credit_yen,
    from accounts
    union all
    select
        *,
        'credit' as side,  -- noqa: RF04
        credit_account as account,  -- noqa: RF04
        0 as debit_yen,
        amount_yen as credit_yen,
    from accounts
),

final as (
    select
        movement_id || '|' || side as entry_id,
        event_id as posting_group_id,
        movement_id,
        event_type,
        movement_kind,
        business_date,
        movement_ts as posted_ts,
        municipality_code,
        mykey_id,
        account,
        case when account = 'resident_point_liability' then program_code end as program_code,
        case when account = 'resident_point_liability' then funding end as funding,
        case when account = 'merchant_payable' then merchant_id end as merchant_id,
        case when account = 'partner_receivable' then partner_code end as partner_code,
        lot_event_id,
        cast(debit_yen as bigint) as debit_yen,
        cast(credit_yen as bigint) as credit_yen,
        computed_for_date,
    from postings
)

select * from final
