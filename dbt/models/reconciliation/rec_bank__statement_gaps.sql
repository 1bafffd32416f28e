-- Spans of days for which a municipality's paying account has no loaded statement, so its deposits there are
-- unknown: a statement rejected at ingestion (trailer or balance mismatch) or not delivered. Statements chain:
-- each opening balance is the previous statement's closing balance, so a break in the chain between two loaded
-- statements is a missing statement that moved money (kind `missing_statement`); the days after the latest
-- loaded statement are not known yet (kind `not_arrived`, open end), nor those before the first loaded one (kind
-- `before_first`, open start: its predecessors may have been rejected). Matching does not call a deposit missing
-- on such days (they stay pending): the redelivered statement is matched when it comes.
with

statements as (
    select * from {{ ref('stg_bank__statements') }}
),

municipalities as (
    select * from {{ ref('int_municipalities__versioned') }}
),

accounts as (
    select
        statements.*,
        municipalities.municipality_code,
    from statements
    inner join municipalities
        on statements.bank_code = municipalities.payer_bank_code
        and statements.branch_code = municipalities.payer_branch_code
        and statements.account_number = municipalities.payer_account_number
        and {{ in_force('municipalities', 'statements.period_to', named_later=true) }}
),

chained as (
    select
        *,
        lag(period_to) over by_account as previous_period_to,
        lag(closing_balance) over by_account as previous_closing_balance,
        lead(period_from) over by_account as next_period_from,
    from accounts
    window by_account as (
        partition by municipality_code, bank_code, branch_code, account_number
        order by period_from, period_to, file_sha256
    )
),

final as (
    select
        municipality_code,
        bank_code,
        branch_code,
        account_number,
        'missing_statement' as gap_kind,
        cast(previous_period_to + 1 as date) as gap_from_date,
        cast(period_from - 1 as date) as gap_to_date,
    from chained
    where previous_period_to is not null and opening_balance <> previous_closing_balance
    union all
    select
        municipality_code,
        bank_code,
        branch_code,
        account_number,
        'not_arrived' as gap_kind,
        cast(period_to + 1 as date) as gap_from_date,
        null as gap_to_date,
    from chained
    where next_period_from is null
    union all
    select
        municipality_code,
        bank_code,
        branch_code,
        account_number,
        'before_first' as gap_kind,
        null as gap_from_date,
        cast(period_from - 1 as date) as gap_to_date,
    from chained
    where previous_period_to is null
)

select * from final
