-- The seq-continuity check: every open gap is a terminal_seq_gap break; a resolved gap is none.
with

spans as (
    select * from {{ ref('rec_terminal__open_gap_spans') }}
),

final as (
    select
        terminal_id,
        missing_from_seq,
        missing_to_seq,
        business_date,
        municipality_code,
        -- what is missing is unknown until the upload arrives: nothing to count as amount at risk
        cast(0 as bigint) as amount_yen,
        'seq ' || missing_from_seq || '..' || missing_to_seq as expected,
        'not delivered' as actual,
        file_sha256,
        line_number,
    from spans
)

select * from final
