with

source as (
    select * from {{ source('raw', 'terminal_seq_gaps') }}
),

final as (
    select
        terminal_id,
        missing_from_seq,
        missing_to_seq,
        status as gap_status,
        resolved_business_date,
        resolved_file_sha256,
        -- lineage: the upload whose first record jumped (the gap is about the file as a whole: line 0)
        detected_business_date as business_date,
        detected_file_sha256 as file_sha256,
        0 as line_number,
    from source
)

select * from final
