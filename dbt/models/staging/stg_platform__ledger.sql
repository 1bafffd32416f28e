with

source as (
    select * from {{ source('raw', 'platform_ledger') }}
),

final as (
    select
        event_id,
        event_ts,
        cast(event_ts as date) as event_date,
        municipality_code,
        program_code,
        mykey_id,
        event_type,
        cast(amount as bigint) as amount_yen,
        merchant_id,
        terminal_id,
        auth_id,
        cancel_of,
        lot_event_id,
        channel,
        partner_code,
        partner_txn_id,
        payment_ref,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
