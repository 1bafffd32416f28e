-- The acquirer's settlement lines that a deposit is expected for, for the pair acquirer_deposits (the engine
-- sums `net` per partner, municipality and deposit_date). Lines whose deposit_date falls between two loaded
-- statements that do not chain (a rejected or missing statement: rec_bank__statement_gaps) are left out: that
-- day's deposits are unknown. Lines due after the latest statement stay: pending within the rule's window.
with

settlement as (
    select * from {{ ref('stg_partner__settlement') }}
),

missing_statements as (
    select * from {{ ref('rec_bank__statement_gaps') }}
    where gap_kind = 'missing_statement'
),

final as (
    select settlement.*
    from settlement
    where not exists (
        select 1 from missing_statements
        where missing_statements.municipality_code = settlement.municipality_code
            and settlement.deposit_date between missing_statements.gap_from_date and missing_statements.gap_to_date
    )
)

select * from final
