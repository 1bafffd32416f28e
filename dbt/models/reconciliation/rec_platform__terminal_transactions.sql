-- The platform side of terminal record <-> platform use/cancel: ledger uses and cancels made at a terminal.
-- awaiting_terminal_upload: the terminal has an open seq gap whose time span holds the event, so its record is
-- most likely in the missing upload: the gap is the break, and this row stays pending while the gap is open.
with

ledger as (
    select * from {{ ref('stg_platform__ledger') }}
),

spans as (
    select * from {{ ref('rec_terminal__open_gap_spans') }}
),

terminal_events as (
    select * from ledger
    where channel = 'terminal' and event_type in ('use', 'cancel')
),

awaiting as (
    select distinct terminal_events.event_id
    from terminal_events
    inner join spans
        on
            terminal_events.terminal_id = spans.terminal_id
            and (spans.span_from_ts is null or terminal_events.event_ts > spans.span_from_ts)
            and (spans.span_to_ts is null or terminal_events.event_ts < spans.span_to_ts)
),

final as (
    select
        terminal_events.auth_id,
        terminal_events.event_type as transaction_type,
        terminal_events.event_date,
        terminal_events.event_ts,
        terminal_events.event_id,
        terminal_events.terminal_id,
        terminal_events.merchant_id,
        terminal_events.municipality_code,
        terminal_events.mykey_id,
        terminal_events.amount_yen,
        awaiting.event_id is not null as awaiting_terminal_upload,
        terminal_events.file_sha256,
        terminal_events.line_number,
    from terminal_events
    left join awaiting on terminal_events.event_id = awaiting.event_id
)

select * from final
