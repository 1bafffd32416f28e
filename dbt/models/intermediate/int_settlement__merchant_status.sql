-- The settlement status of each use, decided on the use's date; a cancel takes its use's status (a cancel of a
-- held use reduces the held amount). A reference no snapshot in force names yet holds the use until a later
-- snapshot names it (in_force named_later): the hold lifts on the next build.
--
-- Incremental (delete+insert on event_id; dbt/macros/masters_fingerprint.sql): while the masters are those every
-- row was computed from, a build computes only the events not yet here and those whose use changed (a cancel
-- whose use arrived later); when they differ (a late snapshot), every event again.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_id',
          on_schema_change='append_new_columns') }}
{%- set fingerprint = masters_fingerprint([ref('int_municipalities__versioned'), ref('int_merchants__versioned'),
                                           ref('int_designations__versioned')]) %}
{%- set only_changed = built_from_masters(fingerprint) %}

with

all_events as (
    select * from {{ ref('int_settlement__events') }}
),

events as (
    select all_events.*
    from all_events
    {% if only_changed %}
    left join {{ this }} as built using (event_id)
    where built.event_id is null or built.use_event_id is distinct from all_events.use_event_id
    {% endif %}
),

statused_uses as (
    select all_events.*
    from all_events
    where all_events.event_type = 'use'
    {% if only_changed %}
        and all_events.event_id in (select events.use_event_id from events)
    {% endif %}
),

municipalities as (
    select * from {{ ref('int_municipalities__versioned') }}
),

merchants as (
    select * from {{ ref('int_merchants__versioned') }}
),

designations as (
    select * from {{ ref('int_designations__versioned') }}
),

use_events as (
    select
        events.event_id as use_event_id,
        exists(
            select 1 from municipalities
            where municipalities.municipality_code = events.municipality_code
                and {{ in_force('municipalities', 'events.event_date', named_later=true) }}
        ) as is_municipality_known,
        exists(
            select 1 from merchants
            where merchants.merchant_id = events.merchant_id
                and {{ in_force('merchants', 'events.event_date', named_later=true) }}
        ) as is_merchant_known,
        exists(
            select 1 from designations
            where designations.municipality_code = events.municipality_code
                and designations.merchant_id = events.merchant_id
                and events.event_date >= designations.in_force_from
                and (designations.in_force_to is null or events.event_date <= designations.in_force_to)
        ) as is_designated,
        (
            select any_value(merchants.merchant_status) from merchants
            where merchants.merchant_id = events.merchant_id
                and {{ in_force('merchants', 'events.event_date', named_later=true) }}
        ) as merchant_status,
    from statused_uses as events
),

final as (
    select
        events.event_id,
        events.event_type,
        events.municipality_code,
        events.use_event_id,
        coalesce(use_events.is_designated, false) as is_designated,
        use_events.merchant_status,
        case
            when use_events.use_event_id is null then null
            when not use_events.is_municipality_known then 'held_unknown_municipality'
            when not use_events.is_merchant_known then 'held_unknown_merchant'
            when not use_events.is_designated then 'held_undesignated'
            when coalesce(use_events.merchant_status, '') <> 'active' then 'held_inactive_merchant'
            else 'payable'
        end as settlement_status,
        '{{ fingerprint }}' as masters_fingerprint,
    from events
    left join use_events using (use_event_id)
)

select * from final
