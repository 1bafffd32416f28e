-- seisan's recomputed end-of-day balances (marts.fct_balances) in the shape the platform reports them: only on
-- days for which the municipality's platform balances file has arrived, and only for a (municipality,
-- programme, MyKey ID) the platform lists that day - one where the resident holds an unexpired lot of the
-- programme (expiry after the day, or none), or a balance that is not zero (which then is a drift anyway).
with

balances as (
    select * from {{ ref('fct_balances') }}
),

lots as (
    select * from {{ ref('fct_point_lots') }}
),

reported_days as (
    select distinct business_date, municipality_code
    from {{ ref('stg_platform__balances') }}
),

on_reported_days as (
    -- a left join and a group, not a correlated EXISTS (decorrelated over every balance of the year, whatever the
    -- dates asked for): a filter on business_date reaches the scan of fct_balances, so matching one day reads one
    -- day (reconciliation/rules/platform_balances.yml matches only the days changed since its previous run)
    select
        balances.business_date,
        balances.municipality_code,
        balances.program_code,
        balances.mykey_id,
        balances.balance_yen,
        count(lots.lot_event_id) as unexpired_lots,
    from balances
    inner join reported_days using (business_date, municipality_code)
    left join lots
        on
            balances.municipality_code = lots.municipality_code
            and balances.mykey_id = lots.mykey_id
            and balances.program_code = lots.program_code
            and balances.business_date >= lots.granted_date
            and (lots.expiry_date is null or balances.business_date < lots.expiry_date)
    group by all
),

final as (
    select
        business_date,
        municipality_code,
        program_code,
        mykey_id,
        balance_yen,
        -- recomputed from every movement of the resident: no one source line to point at
        cast(null as varchar) as file_sha256,
        cast(null as bigint) as line_number,
    from on_reported_days
    where balance_yen <> 0 or unexpired_lots > 0
)

select * from final
