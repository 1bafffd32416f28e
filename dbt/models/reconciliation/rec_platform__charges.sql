-- The platform's charges (points bought by credit card through an acquirer), keyed by payment_ref, for the
-- pair acquirer_charges against the acquirer's settlement lines.
with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
    where event_type = 'charge'
),

final as (
    select
        payment_ref,
        partner_code,
        event_id,
        event_date,
        municipality_code,
        amount_yen,
        business_date,
        file_sha256,
        line_number,
    from ledger
)

select * from final
