-- The acquirer's settlement lines, for the pair acquirer_deposits (the engine sums `net` per partner,
-- municipality and deposit_date against the acquirer's deposit). awaiting_statement: no bank statement of the
-- municipality's paying account covering the deposit date is loaded (rejected at ingestion, not delivered, not
-- arrived yet), so the deposit may well be there: a missing deposit stays pending until the statement comes (the
-- rule's pending_while), never a break on missing data. Deposit dates are bank business days, which always
-- have a statement.
with

settlement as (
    select * from {{ ref('stg_partner__settlement') }}
),

statements as (
    select * from {{ ref('stg_bank__statements') }}
),

municipalities as (
    select * from {{ ref('int_municipalities__versioned') }}
),

covered as (
    -- the days each municipality's paying account has a loaded statement for
    select
        municipalities.municipality_code,
        statements.period_from,
        statements.period_to,
    from statements
    inner join municipalities
        on statements.bank_code = municipalities.payer_bank_code
        and statements.branch_code = municipalities.payer_branch_code
        and statements.account_number = municipalities.payer_account_number
        and {{ in_force('municipalities', 'statements.period_to', named_later=true) }}
),

final as (
    select
        settlement.*,
        not exists (
            select 1 from covered
            where covered.municipality_code = settlement.municipality_code
                and settlement.deposit_date between covered.period_from and covered.period_to
        ) as awaiting_statement,
    from settlement
)

select * from final
