with

source as (
    select * from {{ source('raw', 'master_terminals') }}
),

final as (
    select
        business_date as snapshot_date,
        terminal_id,
        merchant_id,
        public_key,
        active_from,
        active_to,
    from source
)

select * from final
