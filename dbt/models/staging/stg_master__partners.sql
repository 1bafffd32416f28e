with

source as (
    select * from {{ source('raw', 'master_partners') }}
),

final as (
    select
        business_date as snapshot_date,
        partner_code,
        name,
        kind,
        encoding,
        payer_name_kana,
    from source
)

select * from final
