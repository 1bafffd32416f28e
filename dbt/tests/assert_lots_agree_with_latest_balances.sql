-- What is left in the lots equals the latest end-of-day balance, per municipality, programme and resident.
with

lots as (
    select municipality_code, program_code, mykey_id, sum(remaining_yen) as remaining_yen
    from {{ ref('fct_point_lots') }}
    group by all
),

latest as (
    select municipality_code, program_code, mykey_id, balance_yen
    from {{ ref('fct_balances') }}
    where business_date = (select max(business_date) from {{ ref('fct_balances') }})
)

select *
from lots
full outer join latest using (municipality_code, program_code, mykey_id)
where coalesce(lots.remaining_yen, 0) <> coalesce(latest.balance_yen, 0)
