-- The card acquirers' deposits: one transfer per municipality and deposit date, of the sum of `net`.
with

deposits as (
    select * from {{ ref('rec_bank__payer_deposits') }}
    where partner_kind = 'acquirer'
),

final as (
    select
        partner_code,
        municipality_code,
        account_date as deposit_date,
        amount_yen,
        business_date,
        file_sha256,
        line_number,
    from deposits
)

select * from final
