-- Each partner's monthly receivable (fct_partner_receivables) against the bank deposits named with its
-- payer_name_kana for that municipality and month (a partner sends ONE transfer of the month's amount due by
-- the 10th of the next month, FORMATS.md): one row per disagreement and break code, for the check rule
-- partner_payments. Paid exactly (in any number of transfers): no row.
--   partner_payment_missing  nothing paid; pending through the due date, a break after it;
--   partner_short_payment    paid less, or the transfer itself short of the amount (also when it came twice);
--   partner_double_payment   paid more, in two or more transfers;
--   partner_overpayment      paid more in one transfer, or paid for a month that owes nothing.
-- A payment that arrives late or tops a short one up makes the row (so the break) disappear. While a statement
-- of the payment window (the month after, up to the due date) is missing or has not arrived
-- (rec_bank__statement_gaps), a missing payment stays pending (awaiting_statement): the deposit may be in it.
with

receivables as (
    select * from {{ ref('fct_partner_receivables') }}
),

deposits as (
    select * from {{ ref('rec_bank__payer_deposits') }}
    where partner_kind <> 'acquirer'
),

gaps as (
    select * from {{ ref('rec_bank__statement_gaps') }}
),

paid as (
    select
        partner_code,
        municipality_code,
        paid_month_start_date as month_start_date,
        sum(amount_yen) as paid_yen,
        max(amount_yen) as largest_deposit_yen,
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

compared as (
    select
        partner_code,
        municipality_code,
        month_start_date,
        coalesce(receivables.amount_due_yen, 0) as owed_yen,
        coalesce(paid.paid_yen, 0) as paid_yen,
        coalesce(paid.largest_deposit_yen, 0) as largest_deposit_yen,
        coalesce(paid.deposit_count, 0) as deposit_count,
        cast(month_start_date + interval 1 month + interval 9 day as date) as due_date,
        cast(month_start_date + interval 1 month - interval 1 day as date) as month_end_date,
        paid.last_deposit_date,
        paid.right_lineage,
    from receivables
    full outer join paid using (partner_code, municipality_code, month_start_date)
),

findings as (
    select *, 'partner_payment_missing' as break_code, owed_yen as amount_at_risk_yen
    from compared
    where deposit_count = 0 and owed_yen > 0
    union all
    select
        *,
        'partner_short_payment' as break_code,
        owed_yen - least(paid_yen, largest_deposit_yen) as amount_at_risk_yen,
    from compared
    where deposit_count > 0 and owed_yen > 0
        and (paid_yen < owed_yen or (paid_yen > owed_yen and deposit_count >= 2 and largest_deposit_yen < owed_yen))
    union all
    select *, 'partner_double_payment' as break_code, paid_yen - owed_yen as amount_at_risk_yen
    from compared
    where deposit_count >= 2 and owed_yen > 0 and paid_yen > owed_yen
    union all
    select *, 'partner_overpayment' as break_code, paid_yen - greatest(owed_yen, 0) as amount_at_risk_yen
    from compared
    where deposit_count > 0 and paid_yen > owed_yen and (deposit_count = 1 or owed_yen <= 0)
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
        amount_at_risk_yen,
        -- not due yet: pending through the due date (run dates up to and including the 10th)
        case when break_code = 'partner_payment_missing' then due_date end as pending_until,
        -- a statement of the payment window is missing or not arrived: the deposit may be in it
        -- (an account with a loaded statement has gap rows before, between and after them; one with none has no
        -- row at all: then nothing is known)
        break_code = 'partner_payment_missing' and (
            exists (
                select 1 from gaps
                where gaps.municipality_code = findings.municipality_code
                    and (gaps.gap_from_date is null or gaps.gap_from_date <= findings.due_date)
                    and (gaps.gap_to_date is null or gaps.gap_to_date > findings.month_end_date)
            )
            or not exists (
                select 1 from gaps
                where gaps.municipality_code = findings.municipality_code
            )
        ) as awaiting_statement,
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
    from findings
)

select * from final
