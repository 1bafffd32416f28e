with

source as (
    select * from {{ source('raw', 'partner_settlement') }}
),

final as (
    select
        partner_code,
        payment_ref,
        charged_at,
        cast(charged_at as date) as charged_date,
        municipality_code,
        cast(amount as bigint) as amount_yen,
        cast(fee as bigint) as fee_yen,
        cast(net as bigint) as net_yen,
        deposit_date,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
