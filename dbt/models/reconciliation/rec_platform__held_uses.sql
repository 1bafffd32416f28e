-- Uses at a merchant not designated for the municipality on the use's date, or not `active` then (FORMATS.md:
-- it did happen on the platform, it is a control break, and its settlement is held), for the check rule
-- control_held_uses. Uses held for an unknown municipality or merchant are control_flags' breaks instead.
with

statuses as (
    select * from {{ ref('int_settlement__merchant_status') }}
    where event_type = 'use'
        and settlement_status in ('held_undesignated', 'held_inactive_merchant')
),

events as (
    select * from {{ ref('int_settlement__events') }}
),

final as (
    select
        events.event_id,
        case statuses.settlement_status
            when 'held_undesignated' then 'use_at_undesignated_merchant'
            else 'use_at_inactive_merchant'
        end as break_code,
        events.event_date,
        events.municipality_code,
        events.merchant_id,
        case statuses.settlement_status
            when 'held_undesignated' then 'designated for ' || events.municipality_code || ' on ' || events.event_date
            else 'active on ' || events.event_date
        end as expected,
        case statuses.settlement_status
            when 'held_undesignated' then events.merchant_id || ' not designated'
            else events.merchant_id || ' ' || coalesce(statuses.merchant_status, '(no status)')
        end as actual,
        events.amount_yen as amount_at_risk_yen,
        events.file_sha256,
        events.line_number,
    from statuses
    inner join events using (event_id)
)

select * from final
