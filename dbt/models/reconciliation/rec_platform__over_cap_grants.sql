-- Grants that took a resident over the programme's annual cap within one fiscal year (fct_point_lots'
-- is_over_annual_cap, decided in int_point_lots__dated), for the check rule control_annual_cap.
with

lots as (
    select * from {{ ref('int_point_lots__dated') }}
    where is_over_annual_cap
),

ledger as (
    select event_id, file_sha256, line_number from {{ ref('stg_platform__ledger') }}
),

final as (
    select
        lots.lot_event_id as event_id,
        lots.granted_date,
        lots.municipality_code,
        lots.mykey_id,
        lots.program_code,
        lots.fiscal_year,
        'at most ' || lots.annual_cap_per_person_yen || ' in fiscal year ' || lots.fiscal_year as expected,
        cast(lots.granted_in_fiscal_year_yen as varchar) as actual,
        -- what this grant put over the cap (an earlier grant may already have crossed it)
        least(lots.amount_yen, lots.granted_in_fiscal_year_yen - lots.annual_cap_per_person_yen)
            as amount_at_risk_yen,
        ledger.file_sha256,
        ledger.line_number,
    from lots
    left join ledger on lots.lot_event_id = ledger.event_id
)

select * from final
