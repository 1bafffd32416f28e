with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
),

programs as (
    select * from {{ ref('int_programs__versioned') }}
),

municipalities as (
    select * from {{ ref('int_municipalities__versioned') }}
),

lot_events as (
    select *
    from ledger
    where event_type in ('grant', 'charge')
        or (event_type = 'adjust' and amount_yen > 0)
),

with_program as (
    select
        lot_events.event_id as lot_event_id,
        lot_events.event_type as lot_type,
        lot_events.event_ts as granted_ts,
        lot_events.event_date as granted_date,
        lot_events.municipality_code,
        lot_events.mykey_id,
        lot_events.program_code,
        lot_events.amount_yen,
        lot_events.partner_code,
        programs.program_code is not null as is_program_known,
        exists(
            select 1 from municipalities
            where municipalities.municipality_code = lot_events.municipality_code
                and {{ in_force('municipalities', 'lot_events.event_date', named_later=true) }}
        ) as is_municipality_known,
        coalesce(programs.funding, case when lot_events.event_type = 'charge' then 'prepaid' end) as funding,
        programs.expiry_rule,
        programs.annual_cap_per_person_yen,
        {{ fiscal_year('lot_events.event_date') }} as fiscal_year,
    from lot_events
    left join programs
        on lot_events.program_code = programs.program_code
        and {{ in_force('programs', 'lot_events.event_date', named_later=true) }}
),

capped as (
    select
        *,
        {{ lot_expiry_date('granted_date', 'expiry_rule') }} as expiry_date,
        sum(case when lot_type = 'grant' then amount_yen else 0 end) over (
            partition by municipality_code, mykey_id, program_code, fiscal_year
            order by granted_ts, lot_event_id
            rows between unbounded preceding and current row
        ) as granted_in_fiscal_year_yen,
    from with_program
),

final as (
    select
        *,
        coalesce(
            lot_type = 'grant'
            and annual_cap_per_person_yen is not null
            and granted_in_fiscal_year_yen > annual_cap_per_person_yen,
            false
        ) as is_over_annual_cap,
    from capped
)

select * from final
