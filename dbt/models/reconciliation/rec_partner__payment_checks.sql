-- Each partner's monthly receivable (fct_partner_receivables) against the bank deposits named with its
-- payer_name_kana for that municipality and month: one row per disagreement, for the check rule
-- partner_payments. Exact payment: no row. Not paid: partner_payment_missing, pending until the due date
-- (the 10th of the next month), a break after it. Paid less: partner_short_payment; paid more in two or more
-- transfers: partner_double_payment; paid more in one, or with nothing owed: partner_overpayment. A payment
-- that arrives late or tops a short one up makes the row (and so the break) disappear. While a statement of the
-- payment window (the month after, up to the due date) is missing between loaded ones (rec_bank__statement_gaps),
-- a missing deposit may be in it: it is not called missing (a short or double payment seen is still called; a
-- redelivered statement that completes it makes the break resolve).
with

receivables as (
    select * from {{ ref('fct_partner_receivables') }}
),

deposits as (
    select * from {{ ref('rec_bank__payer_deposits') }}
    where partner_kind <> 'acquirer'
),

paid as (
    select
        partner_code,
        municipality_code,
        paid_month_start_date as month_start_date,
        sum(amount_yen) as paid_yen,
        count(*) as deposit_count,
        max(account_date) as last_deposit_date,
        -- every deposit line's lineage, in a stable order (the check's right_lineage)
        cast(
            to_json(list(
                struct_pack(file_sha256 := file_sha256, line_number := line_number) order by file_sha256, line_number
            )) as varchar
        ) as right_lineage,
    from deposits
    group by all
),

gaps as (
    -- statements after the latest one are simply not due yet: the pending window covers them
    select * from {{ ref('rec_bank__statement_gaps') }}
    where gap_kind = 'missing_statement'
),

compared as (
    select
        partner_code,
        municipality_code,
        month_start_date,
        coalesce(receivables.amount_due_yen, 0) as owed_yen,
        coalesce(paid.paid_yen, 0) as paid_yen,
        coalesce(paid.deposit_count, 0) as deposit_count,
        receivables.due_date,
        paid.last_deposit_date,
        paid.right_lineage,
        cast(month_start_date + interval 1 month - interval 1 day as date) as month_end_date,
    from receivables
    full outer join paid using (partner_code, municipality_code, month_start_date)
),

windowed as (
    select
        *,
        exists(
            select 1 from gaps
            where gaps.municipality_code = compared.municipality_code
                and gaps.gap_from_date <= compared.due_date
                and gaps.gap_to_date > compared.month_end_date
        ) as is_window_unknown,
    from compared
),

classified as (
    select
        *,
        case
            when deposit_count = 0 and owed_yen > 0 and not is_window_unknown then 'partner_payment_missing'
            when paid_yen < owed_yen and deposit_count > 0 then 'partner_short_payment'
            when paid_yen > owed_yen and owed_yen > 0 and deposit_count >= 2 then 'partner_double_payment'
            when paid_yen > owed_yen and deposit_count > 0 then 'partner_overpayment'
        end as break_code,
    from windowed
),

final as (
    select
        partner_code,
        municipality_code,
        month_start_date,
        break_code,
        -- a missing payment dates from the month's end; a wrong one from its (latest) deposit
        coalesce(last_deposit_date, month_end_date) as business_date,
        cast(owed_yen as varchar) as expected,
        cast(paid_yen as varchar) as actual,
        abs(owed_yen - paid_yen) as amount_at_risk_yen,
        -- not due yet: pending through the due date (run dates up to and including the 10th)
        case when break_code = 'partner_payment_missing' then due_date end as pending_until,
        owed_yen,
        paid_yen,
        deposit_count,
        due_date,
        -- the deposits' side: the same key when there are deposits
        case when deposit_count > 0 then concat_ws('|', partner_code, municipality_code, month_start_date) end
            as right_key,
        coalesce(right_lineage, '[]') as right_lineage,
        -- the receivable is an aggregate of conversion rows (fct_partner_receivables): no one line to point at
        cast(null as varchar) as file_sha256,
        cast(null as bigint) as line_number,
    from classified
    where break_code is not null
)

select * from final
