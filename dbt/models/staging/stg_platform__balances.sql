with

source as (
    select * from {{ source('raw', 'platform_balances') }}
),

final as (
    select
        business_date,
        municipality_code,
        program_code,
        mykey_id,
        cast(balance as bigint) as balance_yen,
        file_sha256,
        line_number,
    from source
)

select * from final
