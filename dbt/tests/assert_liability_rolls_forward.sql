-- Per municipality and day: opening liability + granted + charged + adjusted - used + cancelled - expired
-- = closing liability, where the liability is the sum of fct_balances and the flows come from the ledger.
-- The days this build changed (changed_balance_days, dbt/macros/changed_days.sql; every day with the full check),
-- each with the day before as its opening: fct_balances rebuilds every day from the earliest one whose movements
-- were computed again, and the ledger entries of a day are those movements, so an earlier day is as it was tested.
{%- set changed_from = '' if full_check() else changed_balance_days_from() | trim %}
with

balances as (
    select municipality_code, business_date, sum(balance_yen) as closing_yen
    from {{ ref('fct_balances') }}
    {%- if changed_from %}
    where business_date >= {{ changed_from }} - 1
    {%- endif %}
    group by all
),

rolled as (
    select
        *,
        lag(closing_yen) over (partition by municipality_code order by business_date) as opening_yen,
        lag(business_date) over (partition by municipality_code order by business_date) as previous_date,
    from balances
),

flows as (
    select
        municipality_code,
        business_date,
        sum(credit_yen) filter (where movement_kind = 'create' and event_type = 'grant') as granted_yen,
        sum(credit_yen) filter (where movement_kind = 'create' and event_type = 'charge') as charged_yen,
        sum(credit_yen - debit_yen) filter (where event_type = 'adjust') as adjusted_yen,
        sum(debit_yen) filter (where movement_kind = 'consume' and event_type = 'use') as used_yen,
        sum(credit_yen) filter (where movement_kind = 'restore') as cancelled_yen,
        sum(debit_yen) filter (where movement_kind in ('expire', 'lapse')) as expired_yen,
    from {{ ref('fct_ledger_entries') }}
    where account = 'resident_point_liability'
    {%- if changed_from %}
        and business_date >= {{ changed_from }}
    {%- endif %}
    group by all
)

select rolled.*, flows.*
from rolled
left join flows using (municipality_code, business_date)
where ((rolled.previous_date is not null and rolled.previous_date <> rolled.business_date - 1)
    or coalesce(rolled.opening_yen, 0)
        + coalesce(flows.granted_yen, 0) + coalesce(flows.charged_yen, 0) + coalesce(flows.adjusted_yen, 0)
        - coalesce(flows.used_yen, 0) + coalesce(flows.cancelled_yen, 0) - coalesce(flows.expired_yen, 0)
        <> rolled.closing_yen)
    {%- if changed_from %}
    and rolled.business_date >= {{ changed_from }}
    {%- endif %}
