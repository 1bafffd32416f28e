with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
    where event_type in ('use', 'cancel')
),

designations as (
    select * from {{ ref('int_designations__versioned') }}
),

merchants as (
    select * from {{ ref('int_merchants__versioned') }}
),

uses as (
    select
        ledger.event_id,
        ledger.municipality_code,
        ledger.merchant_id,
        ledger.event_date,
        exists (
            select 1 from designations
            where designations.municipality_code = ledger.municipality_code
                and designations.merchant_id = ledger.merchant_id
                and ledger.event_date >= designations.in_force_from
                and (designations.in_force_to is null or ledger.event_date <= designations.in_force_to)
        ) as is_designated,
        (
            select any_value(merchants.merchant_status) from merchants
            where merchants.merchant_id = ledger.merchant_id
                and {{ in_force('merchants', 'ledger.event_date') }}
        ) as merchant_status,
    from ledger
    where ledger.event_type = 'use'
),

-- A cancel is settled like the use it reverses (a cancel of a held use reduces the held amount).
statuses as (
    select
        ledger.event_id,
        ledger.event_type,
        coalesce(uses.is_designated, own.is_designated) as is_designated,
        coalesce(uses.merchant_status, own.merchant_status) as merchant_status,
    from ledger
    left join uses on uses.event_id = coalesce(ledger.cancel_of, ledger.event_id)
    left join uses as own on own.event_id = ledger.event_id
),

final as (
    select
        event_id,
        event_type,
        coalesce(is_designated, false) as is_designated,
        merchant_status,
        case
            when not coalesce(is_designated, false) then 'held_undesignated'
            when merchant_status is distinct from 'active' then 'held_inactive_merchant'
            else 'payable'
        end as settlement_status,
    from statuses
)

select * from final
