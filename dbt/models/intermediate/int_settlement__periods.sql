with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
    where event_type in ('use', 'cancel')
),

municipalities as (
    select * from {{ ref('int_municipalities__versioned') }}
),

with_cycle as (
    select
        ledger.event_id,
        ledger.event_type,
        ledger.event_date,
        ledger.municipality_code,
        ledger.merchant_id,
        municipalities.settlement_cycle,
        municipalities.settlement_day,
    from ledger
    left join municipalities
        on ledger.municipality_code = municipalities.municipality_code
        and {{ in_force('municipalities', 'ledger.event_date') }}
),

with_end as (
    select
        *,
        case
            when settlement_cycle = 'daily' then event_date
            when settlement_cycle = 'weekly'
                -- the next day (today included) whose ISO weekday (1=Mon..7=Sun) is settlement_day
                then cast(event_date + cast((cast(settlement_day as integer) - isodow(event_date) + 7) % 7 as integer) as date)
            when settlement_cycle = 'monthly' and settlement_day = 'end' then last_day(event_date)
            when settlement_cycle = 'monthly' and day(event_date) <= cast(settlement_day as integer)
                then make_date(year(event_date), month(event_date), cast(settlement_day as integer))
            when settlement_cycle = 'monthly'
                then cast(make_date(year(event_date), month(event_date), cast(settlement_day as integer))
                    + interval 1 month as date)
        end as period_end_date,
    from with_cycle
),

final as (
    select
        *,
        case
            when settlement_cycle = 'daily' then period_end_date
            when settlement_cycle = 'weekly' then cast(period_end_date - 6 as date)
            when settlement_cycle = 'monthly' and settlement_day = 'end' then cast(date_trunc('month', period_end_date) as date)
            when settlement_cycle = 'monthly' then cast(period_end_date - interval 1 month + interval 1 day as date)
        end as period_start_date,
    from with_end
)

select * from final
