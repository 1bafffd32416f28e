{%- set run_date = "date '" ~ business_date() ~ "'" %}

with

movements as (
    select * from {{ ref('int_lot_movements') }}
    where funding = 'prepaid' and lot_event_id is not null
),

first_year as (
    select year(min(business_date)) - 1 as first_year from movements
),

reference_dates as (
    -- 基準日: 31 March and 30 September, from the first prepaid movement up to D.
    select make_date(cast(y as integer), m, case when m = 3 then 31 else 30 end) as reference_date
    from first_year,
        range(first_year.first_year, year({{ run_date }}) + 1) as years(y),  -- noqa: AL05, LT01
        (values (3), (9)) as months(m)  -- noqa: AL05, LT01
),

municipalities as (
    select distinct municipality_code from movements
),

totals as (
    select
        municipalities.municipality_code,
        reference_dates.reference_date,
        coalesce(sum(movements.amount_yen) filter (where movements.movement_kind = 'create'), 0) as issued_total_yen,
        coalesce(sum(movements.amount_yen) filter (where movements.movement_kind = 'consume'), 0)
            - coalesce(sum(movements.amount_yen) filter (where movements.movement_kind = 'restore'), 0)
            as used_total_yen,
        coalesce(sum(movements.amount_yen) filter (where movements.movement_kind in ('expire', 'lapse')), 0)
            as expired_total_yen,
    from municipalities
    cross join reference_dates
    left join movements
        on municipalities.municipality_code = movements.municipality_code
        and reference_dates.reference_date >= movements.business_date
    where reference_dates.reference_date <= {{ run_date }}
    group by all
),

final as (
    select
        municipality_code,
        reference_date,
        cast(issued_total_yen as bigint) as issued_total_yen,
        cast(used_total_yen as bigint) as used_total_yen,
        cast(expired_total_yen as bigint) as expired_total_yen,
        cast(issued_total_yen - used_total_yen - expired_total_yen as bigint) as unused_balance_yen,
        issued_total_yen - used_total_yen - expired_total_yen > 10000000 as is_threshold_exceeded,
        cast(case when issued_total_yen - used_total_yen - expired_total_yen > 10000000
            then (issued_total_yen - used_total_yen - expired_total_yen + 1) // 2 else 0 end as bigint)
            as deposit_required_yen,
        case when month(reference_date) = 3 then make_date(year(reference_date), 5, 31)
             else make_date(year(reference_date), 11, 30) end as deposit_deadline_date,
        case when month(reference_date) = 3 then make_date(year(reference_date), 5, 31)
             else make_date(year(reference_date), 11, 30) end as report_deadline_date,
    from totals
    where issued_total_yen > 0
)

select * from final
