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
    select balances.*
    from balances
    inner join reported_days using (business_date, municipality_code)
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
    where balance_yen <> 0
        or exists (
            select 1 from lots
            where lots.municipality_code = on_reported_days.municipality_code
                and lots.mykey_id = on_reported_days.mykey_id
                and lots.program_code = on_reported_days.program_code
                and lots.granted_date <= on_reported_days.business_date
                and (lots.expiry_date is null or lots.expiry_date > on_reported_days.business_date)
        )
)

select * from final
