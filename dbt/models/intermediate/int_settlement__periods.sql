-- The settlement period of each use and cancel (FORMATS.md "Settlement periods"): the period of the cycle in
-- force on the event's own date. When a municipality's cycle changes, the period running under the old cycle
-- ends the day before the change and the new cycle's first period starts on that day: each period is clipped
-- to the span of its cycle, so periods never overlap.
--
-- Incremental (delete+insert on event_id; dbt/macros/masters_fingerprint.sql): while the municipalities are those
-- every row was computed from, a build computes only the events not yet here and those whose merchant changed (a
-- cancel whose use arrived later); when they differ (a late snapshot), every event again.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_id',
          on_schema_change='append_new_columns') }}
{%- set fingerprint = masters_fingerprint([ref('int_municipalities__versioned')]) %}
{%- set only_changed = built_from_masters(fingerprint) %}

with

events as (
    select all_events.*
    from {{ ref('int_settlement__events') }} as all_events
    {% if only_changed %}
    left join {{ this }} as built using (event_id)
    where built.event_id is null or built.merchant_id is distinct from all_events.merchant_id
    {% endif %}
),

versions as (
    select
        municipality_code,
        valid_from,
        effective_from,
        valid_to,
        settlement_cycle,
        settlement_day,
        -- a cycle span is a run of consecutive versions with the same cycle (other attributes may change)
        case
            when lag(settlement_cycle) over (partition by municipality_code order by valid_from) is null then 1
            when lag(settlement_cycle) over (partition by municipality_code order by valid_from) <> settlement_cycle
                then 1
            when coalesce(lag(settlement_day) over (partition by municipality_code order by valid_from), '')
                <> coalesce(settlement_day, '') then 1
            else 0
        end as starts_cycle,
    from {{ ref('int_municipalities__versioned') }}
),

numbered as (
    select
        *,
        sum(starts_cycle) over (
            partition by municipality_code order by valid_from
            rows between unbounded preceding and current row
        ) as cycle_number,
    from versions
),

cycles as (
    -- effective_from / valid_to: the span of the cycle (a version reaches back over the gap before it, so a
    -- municipality named late still settles; see macro in_force)
    select
        municipality_code,
        cycle_number,
        any_value(settlement_cycle) as settlement_cycle,
        any_value(settlement_day) as settlement_day,
        case when bool_or(effective_from is null) then null else min(effective_from) end as effective_from,
        case when bool_or(valid_to is null) then null else max(valid_to) end as valid_to,
    from numbered
    group by all
),

with_cycle as (
    select
        events.event_id,
        events.event_type,
        events.event_date,
        events.municipality_code,
        events.merchant_id,
        cycles.settlement_cycle,
        cycles.settlement_day,
        cycles.effective_from as cycle_from_date,
        cycles.valid_to as cycle_to_date,
    from events
    left join cycles
        on events.municipality_code = cycles.municipality_code
        and {{ in_force('cycles', 'events.event_date', named_later=true) }}
),

with_end as (
    select
        *,
        case
            when settlement_cycle = 'daily' then event_date
            when settlement_cycle = 'weekly'
                -- the next day (today included) whose ISO weekday (1=Mon..7=Sun) is settlement_day
                then cast(
                    event_date + cast((cast(settlement_day as integer) - isodow(event_date) + 7) % 7 as integer) as date
                )
            when settlement_cycle = 'monthly' and settlement_day = 'end' then last_day(event_date)
            when settlement_cycle = 'monthly' and day(event_date) <= cast(settlement_day as integer)
                then make_date(year(event_date), month(event_date), cast(settlement_day as integer))
            when settlement_cycle = 'monthly'
                then cast(make_date(year(event_date), month(event_date), cast(settlement_day as integer))
                    + interval 1 month as date)
        end as cycle_period_end_date,
    from with_cycle
),

with_start as (
    select
        *,
        case
            when settlement_cycle = 'daily' then cycle_period_end_date
            when settlement_cycle = 'weekly' then cast(cycle_period_end_date - 6 as date)
            when settlement_cycle = 'monthly' and settlement_day = 'end'
                then cast(date_trunc('month', cycle_period_end_date) as date)
            when settlement_cycle = 'monthly'
                then cast(cycle_period_end_date - interval 1 month + interval 1 day as date)
        end as cycle_period_start_date,
    from with_end
),

final as (
    -- clipped to the cycle's span; a municipality no snapshot names yet (its uses are held) gets the day itself
    select
        event_id,
        event_type,
        event_date,
        municipality_code,
        merchant_id,
        settlement_cycle,
        settlement_day,
        case
            when settlement_cycle is null then event_date
            when cycle_from_date is null then cycle_period_start_date
            else greatest(cycle_period_start_date, cycle_from_date)
        end as period_start_date,
        case
            when settlement_cycle is null then event_date
            when cycle_to_date is null then cycle_period_end_date
            else least(cycle_period_end_date, cycle_to_date)
        end as period_end_date,
        '{{ fingerprint }}' as masters_fingerprint,
    from with_start
)

select * from final
