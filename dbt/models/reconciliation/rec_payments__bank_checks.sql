-- What the bank did with the payment files, as the payout ledger found it on the paying accounts' statements
-- (payments.bank_checks, written by payments.ledger.confirm_from_bank in the daily payments step): one row per
-- problem check, read by the check rule payments_bank_checks as the break 'bank_' || check_code.
-- The payments tables are created by the payments code, not by dbt: before the first payments step they do not
-- exist and this view is empty (it is rebuilt with the marts every day, and then reads them).
-- A check is reconciled from the day after the payments step made it (reconciled_on): the payments step runs
-- after reconcile, so a rerun of a day sees exactly what its first run saw.
-- depends_on: {{ ref('stg_bank__statement_lines') }} {{ ref('int_municipalities__versioned') }}
{%- set checks = payments_relation('bank_checks') %}
{%- set payouts = payments_relation('payouts') %}
{%- set batches = payments_relation('batches') %}
{%- set source_items = payments_relation('payout_items') %}
{% if checks is none or payouts is none or batches is none or source_items is none %}

select
    cast(null as varchar) as check_id,
    cast(null as varchar) as subject_id,
    cast(null as varchar) as check_code,
    cast(null as varchar) as break_code,
    cast(null as date) as reconciled_on,
    cast(null as varchar) as municipality_code,
    cast(null as varchar) as batch_id,
    cast(null as varchar) as payout_id,
    cast(null as varchar) as expected,
    cast(null as varchar) as actual,
    cast(null as bigint) as amount_at_risk_yen,
    cast(null as varchar) as file_sha256,
    cast(null as bigint) as line_number,
where false

{% else %}

with

checks as (
    -- the problems of contracts.reasons.PAYOUT_CHECK_PROBLEMS (a test keeps this list equal to it)
    select * from {{ checks }}
    where check_code in ('batch_withdrawal_missing', 'fees_over_schedule', 'fees_under_schedule',
                         'fees_withdrawal_missing', 'payout_returned', 'return_amount_mismatch',
                         'return_unknown_payout')
),

lines as (
    select * from {{ ref('stg_bank__statement_lines') }}
),

municipalities as (
    select * from {{ ref('int_municipalities__versioned') }}
),

-- the municipality whose paying account holds the line (a return naming no payout has only that)
line_owner as (
    select
        lines.file_sha256,
        lines.line_number,
        min(municipalities.municipality_code) as municipality_code,
    from lines
    inner join municipalities
        on lines.bank_code = municipalities.payer_bank_code
        and lines.branch_code = municipalities.payer_branch_code
        and lines.account_number = municipalities.payer_account_number
        and {{ in_force('municipalities', 'lines.account_date', named_later=true) }}
    group by all
),

final as (
    select
        checks.check_id,
        coalesce(checks.payout_id, checks.batch_id, 'line') as subject_id,
        checks.check_code,
        'bank_' || checks.check_code as break_code,
        cast(checks.run_date + interval 1 day as date) as reconciled_on,
        coalesce(batches.municipality_code, payouts.municipality_code, line_owner.municipality_code)
            as municipality_code,
        checks.batch_id,
        checks.payout_id,
        cast(checks.expected_yen as varchar) as expected,
        cast(checks.actual_yen as varchar) as actual,
        -- a returned payout's money is back on the account and owed again (carried): nothing is at risk, the
        -- break only keeps it in sight until it is paid again
        case checks.check_code
            when 'payout_returned' then 0
            when 'return_unknown_payout' then checks.actual_yen
            when 'batch_withdrawal_missing' then checks.expected_yen
            when 'fees_withdrawal_missing' then checks.expected_yen
            else abs(coalesce(checks.actual_yen, 0) - coalesce(checks.expected_yen, 0))
        end as amount_at_risk_yen,
        checks.file_sha256,
        checks.line_number,
    from checks
    left join {{ batches }} as batches on checks.batch_id = batches.batch_id
    left join {{ payouts }} as payouts on checks.payout_id = payouts.payout_id
    left join line_owner
        on checks.file_sha256 = line_owner.file_sha256 and checks.line_number = line_owner.line_number
    -- a returned payout stays a break until the payout that pays it again is confirmed by the bank (then the
    -- break resolves by itself)
    where checks.check_code <> 'payout_returned' or not exists (
        select 1
        from {{ source_items }} as items
        inner join {{ payouts }} as repaid on items.payout_id = repaid.payout_id
        where items.source_id = checks.payout_id and repaid.state = 'confirmed'
    )
)

select * from final

{% endif %}
