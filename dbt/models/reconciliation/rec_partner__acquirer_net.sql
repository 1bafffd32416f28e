-- The acquirer's settlement lines, for the pair acquirer_deposits (the engine sums `net` per partner,
-- municipality and deposit_date against the acquirer's deposit). awaiting_statement: the municipality's bank
-- statement for the deposit date is missing between loaded ones (rejected, not delivered), has not arrived yet,
-- or lies before the first loaded one (rec_bank__statement_gaps), so the deposit may well be there: a missing
-- deposit stays pending until the statement comes (the rule's pending_while), never a break on missing data.
with

settlement as (
    select * from {{ ref('stg_partner__settlement') }}
),

gaps as (
    select * from {{ ref('rec_bank__statement_gaps') }}
),

final as (
    select
        settlement.*,
        exists(
            select 1 from gaps
            where gaps.municipality_code = settlement.municipality_code
                and (gaps.gap_from_date is null or settlement.deposit_date >= gaps.gap_from_date)
                and (gaps.gap_to_date is null or settlement.deposit_date <= gaps.gap_to_date)
        ) as awaiting_statement,
    from settlement
)

select * from final
