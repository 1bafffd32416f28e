with

source as (
    select * from {{ source('raw', 'terminal_seals') }}
),

final as (
    select
        terminal_id,
        seq,
        ts,
        records,
        prev_hash,
        hash,
        upload_number,
        first_seq,
        business_date,
        file_sha256,
        line_number,
    from source
)

select * from final
