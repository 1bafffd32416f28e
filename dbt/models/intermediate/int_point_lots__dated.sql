-- Every point lot (a grant, a charge, a positive adjust) with its programme's rules on its date, its expiry date and
-- whether it took its resident over the programme's annual cap within the fiscal year.
--
-- Incremental (delete+insert on lot_event_id; dbt/macros/masters_fingerprint.sql): while the programmes and
-- municipalities are those every row was computed from, a build computes again only the lots of each (resident,
-- programme, fiscal year) that gained a lot not yet here (a late grant changes the running total of the lots
-- granted after it); when the masters differ (a late snapshot, a changed cap), every lot again. A lot's columns
-- change only when a build writes its row again; computed_for_date says which build did.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='lot_event_id',
          on_schema_change='append_new_columns') }}
{%- set fingerprint = masters_fingerprint([ref('int_programs__versioned'), ref('int_municipalities__versioned')]) %}
{%- set only_changed = built_from_masters(fingerprint) %}

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

all_lot_events as (
    select *
    from ledger
    where event_type in ('grant', 'charge')
        or (event_type = 'adjust' and amount_yen > 0)
),

lot_events as (
    select all_lot_events.*
    from all_lot_events
    {% if only_changed %}
    inner join (
        select distinct
            new_lots.municipality_code,
            new_lots.mykey_id,
            new_lots.program_code,
            {{ fiscal_year('new_lots.event_date') }} as fiscal_year,
        from all_lot_events as new_lots
        left join {{ this }} as built on new_lots.event_id = built.lot_event_id
        where built.lot_event_id is null
    ) as touched
        on all_lot_events.municipality_code = touched.municipality_code
        and all_lot_events.mykey_id = touched.mykey_id
        and all_lot_events.program_code is not distinct from touched.program_code
        and {{ fiscal_year('all_lot_events.event_date') }} = touched.fiscal_year
    {% endif %}
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
        '{{ fingerprint }}' as masters_fingerprint,
        -- the business date of the build that wrote the row: the lots rewritten since recomputed_since() are the
        -- only ones whose columns can have changed (int_lot_movements, fct_point_lots)
        date '{{ business_date() }}' as computed_for_date,
    from capped
)

select * from final
