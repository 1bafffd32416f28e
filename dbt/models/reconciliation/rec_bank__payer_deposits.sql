-- Bank statement credits (入金) named with a partner's payer_name_kana (FORMATS.md bank/): who paid, into which
-- municipality's paying account. Every other line (interest, unrelated transfers, payment-file withdrawals,
-- 振込不能 returns) is not here: listed in staging, never matched, never a break.
with

lines as (
    select * from {{ ref('stg_bank__statement_lines') }}
    where direction = 'credit'
),

municipalities as (
    select * from {{ ref('int_municipalities__versioned') }}
),

partners as (
    select * from {{ ref('int_partners__versioned') }}
),

final as (
    select
        lines.file_sha256,
        lines.line_number,
        lines.business_date,
        lines.account_date,
        lines.inquiry_number,
        lines.remitter_name,
        lines.amount_yen,
        municipalities.municipality_code,
        partners.partner_code,
        partners.kind as partner_kind,
        -- partners pay a month's conversions by the 10th of the next month: a deposit pays the month before its own
        cast(date_trunc('month', lines.account_date) - interval 1 month as date) as paid_month_start_date,
    from lines
    inner join municipalities
        on lines.bank_code = municipalities.payer_bank_code
        and lines.branch_code = municipalities.payer_branch_code
        and lines.account_number = municipalities.payer_account_number
        and {{ in_force('municipalities', 'lines.account_date', named_later=true) }}
    inner join partners
        on lines.remitter_name = partners.payer_name_kana
        and {{ in_force('partners', 'lines.account_date', named_later=true) }}
)

select * from final
