-- The partner side of conversions <-> conversion grants: every applied conversion must have become a grant. A
-- `cancelled` row with no applied row never took effect (no grant, nothing owed: docs/marts.md); one that
-- reverses an applied row does not undo that row's grant, so applied rows are matched whatever follows them.
with

conversions as (
    select * from {{ ref('stg_partner__conversion') }}
),

final as (
    select
        partner_code,
        partner_txn_id,
        txn_date,
        txn_ts,
        municipality_code,
        mykey_id,
        municipal_points as amount_yen,
        file_sha256,
        line_number,
    from conversions
    where status = 'applied'
)

select * from final
