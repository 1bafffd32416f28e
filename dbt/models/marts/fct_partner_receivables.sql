with

conversions as (
    select * from {{ ref('stg_partner__conversion') }}
),

applied_txns as (
    -- Conversions that took effect (points were granted), whichever file they came in.
    select distinct partner_code, partner_txn_id
    from conversions
    where status = 'applied'
),

classified as (
    -- A cancelled row reverses the applied row of the same partner and partner_txn_id when there is one (loaded
    -- earlier or later: the whole table is read), in the month of the cancelled row's txn_ts. A cancelled row
    -- with no applied row owes nothing: the conversion never took effect.
    select
        conversions.*,
        conversions.status = 'cancelled' and applied_txns.partner_txn_id is not null as is_reversal,
        conversions.status = 'cancelled' and applied_txns.partner_txn_id is null as is_unmatched_cancel,
    from conversions
    left join applied_txns using (partner_code, partner_txn_id)
),

lots as (
    select * from {{ ref('int_point_lots__dated') }}
    where lot_type = 'grant' and partner_code is not null
),

owed as (
    select
        partner_code,
        municipality_code,
        cast(date_trunc('month', txn_date) as date) as month_start_date,
        count(*) filter (where status = 'applied') as applied_count,
        coalesce(sum(amount_due_yen) filter (where status = 'applied'), 0) as applied_amount_due_yen,
        count(*) filter (where is_reversal) as cancelled_count,
        coalesce(sum(amount_due_yen) filter (where is_reversal), 0) as cancelled_amount_due_yen,
        count(*) filter (where is_unmatched_cancel) as unmatched_cancelled_count,
        coalesce(sum(municipal_points) filter (where status = 'applied'), 0)
            - coalesce(sum(municipal_points) filter (where is_reversal), 0) as converted_points,
    from classified
    group by all
),

granted as (
    select
        partner_code,
        municipality_code,
        cast(date_trunc('month', granted_date) as date) as month_start_date,
        sum(amount_yen) as granted_points,
    from lots
    group by all
),

final as (
    select
        {{ surrogate_key(['partner_code', 'municipality_code', 'month_start_date']) }} as partner_receivable_id,
        partner_code,
        municipality_code,
        month_start_date,
        cast(last_day(month_start_date) as date) as month_end_date,
        cast(month_start_date + interval 1 month + interval 9 day as date) as due_date,
        coalesce(owed.applied_count, 0) as applied_count,
        coalesce(owed.cancelled_count, 0) as cancelled_count,
        coalesce(owed.unmatched_cancelled_count, 0) as unmatched_cancelled_count,
        coalesce(owed.applied_amount_due_yen, 0) as applied_amount_due_yen,
        coalesce(owed.cancelled_amount_due_yen, 0) as cancelled_amount_due_yen,
        coalesce(owed.applied_amount_due_yen, 0) - coalesce(owed.cancelled_amount_due_yen, 0) as amount_due_yen,
        coalesce(owed.converted_points, 0) as converted_points,
        coalesce(granted.granted_points, 0) as granted_points,
    from owed
    full outer join granted using (partner_code, municipality_code, month_start_date)
)

select * from final
