with

source as (
    select * from {{ source('raw', 'bank_statements') }}
),

final as (
    select
        bank_code,
        branch_code,
        account_type,
        account_number,
        account_name,
        created_date,
        period_from,
        period_to,
        cast(opening_balance as bigint) as opening_balance,
        cast(credit_count as bigint) as credit_count,
        cast(credit_total as bigint) as credit_total,
        cast(debit_count as bigint) as debit_count,
        cast(debit_total as bigint) as debit_total,
        cast(closing_balance as bigint) as closing_balance,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
