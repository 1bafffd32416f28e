-- The partner side of online sales <-> platform: each sale (`captured`) is a use, each refund a cancel.
with

sales as (
    select * from {{ ref('stg_partner__sales') }}
),

final as (
    select
        partner_code,
        order_id,
        case status when 'captured' then 'use' when 'refunded' then 'cancel' end as transaction_type,
        order_date,
        order_ts,
        municipality_code,
        merchant_id,
        mykey_id,
        points_used as amount_yen,
        file_sha256,
        line_number,
    from sales
)

select * from final
