{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='business_date') }}
{%- set run_date = "date '" ~ business_date() ~ "'" %}

with

movements as (
    select * from {{ ref('int_lot_movements') }}
    where lot_event_id is not null
),

{% if is_incremental() %}
bounds as (
    -- Rebuild from the earliest date this run changed (a late event can change old days), or from the day
    -- after the last snapshot if days were skipped, up to D (or the last snapshot, whichever is later).
    select
        least(
            coalesce((select min(business_date) from movements where computed_for_date >= date '{{ recomputed_since() }}'), {{ run_date }}),
            coalesce((select cast(max(business_date) + 1 as date) from {{ this }}), {{ run_date }})
        ) as build_from,
        greatest({{ run_date }}, coalesce((select max(business_date) from {{ this }}), {{ run_date }})) as build_to,
),

opening as (
    select municipality_code, program_code, mykey_id, balance_yen
    from {{ this }}
    where business_date = (select cast(build_from - 1 as date) from bounds)
),
{% else %}
bounds as (
    select
        min(business_date) as build_from,
        greatest({{ run_date }}, max(business_date)) as build_to,
    from movements
),

opening as (
    select
        cast(null as varchar) as municipality_code,
        cast(null as varchar) as program_code,
        cast(null as varchar) as mykey_id,
        cast(null as bigint) as balance_yen,
    where false
),
{% endif %}

days as (
    select cast(unnest(generate_series(build_from, build_to, interval 1 day)) as date) as business_date
    from bounds
),

daily_deltas as (
    select
        movements.business_date,
        movements.municipality_code,
        movements.program_code,
        movements.mykey_id,
        sum(movements.lot_delta_yen) as delta_yen,
    from movements
    cross join bounds
    where movements.business_date between bounds.build_from and bounds.build_to
    group by all
),

balance_keys as (
    -- A key (municipality, programme, resident) has a balance from the day of its first movement on.
    select municipality_code, program_code, mykey_id, min(first_date) as first_date
    from (
        select municipality_code, program_code, mykey_id, cast('0001-01-01' as date) as first_date from opening
        union all
        select municipality_code, program_code, mykey_id, business_date as first_date from daily_deltas
    ) as first_dates
    group by all
),

grid as (
    select days.business_date, balance_keys.municipality_code, balance_keys.program_code, balance_keys.mykey_id
    from balance_keys
    inner join days on balance_keys.first_date <= days.business_date
),

final as (
    select
        grid.business_date,
        grid.municipality_code,
        grid.program_code,
        grid.mykey_id,
        cast(coalesce(opening.balance_yen, 0) + sum(coalesce(daily_deltas.delta_yen, 0)) over (
            partition by grid.municipality_code, grid.program_code, grid.mykey_id
            order by grid.business_date
            rows between unbounded preceding and current row
        ) as bigint) as balance_yen,
        -- when this build wrote the row (UTC): the pair platform_balances matches again only the days rebuilt
        -- since its previous run (rec_platform_balances__changes)
        cast(get_current_timestamp() at time zone 'UTC' as timestamp) as computed_at,
    from grid
    left join opening using (municipality_code, program_code, mykey_id)
    left join daily_deltas using (business_date, municipality_code, program_code, mykey_id)
)

select * from final
