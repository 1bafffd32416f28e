with

source as (
    select * from {{ source('raw', 'partner_sales') }}
),

final as (
    select
        partner_code,
        order_id,
        order_ts,
        cast(order_ts as date) as order_date,
        mykey_id,
        municipality_code,
        merchant_id,
        cast(points_used as bigint) as points_used,
        status,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
