with

source as (
    select * from {{ source('raw', 'bank_statement_lines') }}
),

final as (
    select
        bank_code,
        branch_code,
        account_number,
        inquiry_number,
        account_date,
        value_date,
        direction,
        transaction_type,
        cast(amount as bigint) as amount_yen,
        remitter_code,
        remitter_name,
        sending_bank_name,
        sending_branch_name,
        description,
        edi,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
