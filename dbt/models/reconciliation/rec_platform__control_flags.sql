-- The control breaks of loaded platform ledger rows (marts.fct_control_flags) that are still open, for the check
-- rule control_flags. An unknown reference that a later master snapshot names is resolved (is_resolved): its
-- row is dropped here, so its break resolves by itself on the next run.
with

flags as (
    select * from {{ ref('fct_control_flags') }}
    where not is_resolved
),

final as (
    select
        event_id,
        flag_code as break_code,
        event_type,
        event_date,
        municipality_code,
        mykey_id,
        reference_value,
        -- what the row should have been, and what it was
        case
            when flag_code like '%\_unknown' escape '\' then 'known in the master in force on ' || event_date
            when flag_code = 'cancel_exceeds_use' then 'at most what use ' || reference_value || ' still holds'
            when flag_code = 'cancel_merchant_mismatch' then 'the merchant of its use'
        end as expected,
        case
            when flag_code = 'cancel_exceeds_use' then 'excess ' || amount_yen
            else coalesce(reference_value, '(none)')
        end as actual,
        abs(amount_yen) as amount_at_risk_yen,
        file_sha256,
        line_number,
    from flags
)

select * from final
