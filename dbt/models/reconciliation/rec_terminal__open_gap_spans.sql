-- Each open seq gap of a terminal with the time span its missing records must lie in: after the seal that
-- precedes the gap (none when the gap starts at seq 1) and before the first loaded record that follows it.
with

gaps as (
    select * from {{ ref('stg_terminal__seq_gaps') }}
),

seals as (
    select * from {{ ref('stg_terminal__seals') }}
),

records as (
    select * from {{ ref('stg_terminal__records') }}
),

open_gaps as (
    select * from gaps where gap_status = 'open'
),

after_gap as (
    -- the first loaded record (or seal of an empty upload) after the gap
    select terminal_id, seq, ts from records
    union all
    select terminal_id, seq, ts from seals
),

final as (
    select
        open_gaps.terminal_id,
        open_gaps.missing_from_seq,
        open_gaps.missing_to_seq,
        open_gaps.business_date,
        before_gap.ts as span_from_ts,
        after_gap.ts as span_to_ts,
        after_gap_record.municipality_code,
        open_gaps.file_sha256,
        open_gaps.line_number,
    from open_gaps
    left join seals as before_gap
        on
            open_gaps.terminal_id = before_gap.terminal_id
            and open_gaps.missing_from_seq - 1 = before_gap.seq
    left join after_gap
        on
            open_gaps.terminal_id = after_gap.terminal_id
            and open_gaps.missing_to_seq + 1 = after_gap.seq
    left join records as after_gap_record
        on
            open_gaps.terminal_id = after_gap_record.terminal_id
            and open_gaps.missing_to_seq + 1 = after_gap_record.seq
)

select * from final
