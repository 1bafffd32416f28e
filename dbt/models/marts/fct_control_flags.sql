-- Control breaks of platform ledger rows that reconciliation turns into breaks (FORMATS.md "References not
-- known yet", "Cancels in settlement"). The row is loaded and moves points all the same; a use with an unknown
-- municipality or merchant is held from settlement until a later snapshot names it (is_resolved).
with

ledger as (
    select
        event_id,
        event_type,
        event_date,
        municipality_code,
        mykey_id,
        merchant_id,
        program_code,
        partner_code,
        amount_yen,
        file_sha256,
        line_number,
    from {{ ref('stg_platform__ledger') }}
),

references_named as (
    -- every reference a row names, with the master it must be in (a row always names its municipality, even null)
    {{ ledger_references('ledger', '*') }}
),

versions as (
    {%- for kind, column, master in ledger_reference_kinds() %}
    {% if not loop.first %}union all{% endif %}
    select '{{ kind }}' as reference_kind, {{ column }} as reference_value, valid_from, effective_from, valid_to
    from {{ ref(master) }}
    {%- endfor %}
),

reference_triples as (
    -- whether a reference is in force depends only on (kind, value, date): checked once per distinct triple (a
    -- few thousand a year for a small world, where the ledger names millions of references), then joined back for
    -- the triples not in force only. Read from the ledger's narrow columns, not from references_named: DuckDB
    -- materialises a CTE read twice, and the wide rows cost 0.28 s on day 365 of bench-history, against 0.07 s
    select distinct reference_kind, reference_value, event_date
    from ({{ ledger_references('ledger', 'event_date') }})
),

reference_checks as (
    select
        distinct_references.*,
        exists(
            select 1 from versions
            where versions.reference_kind = distinct_references.reference_kind
                and versions.reference_value = distinct_references.reference_value
                and {{ in_force('versions', 'distinct_references.event_date') }}
        ) as is_in_force,
        exists(
            select 1 from versions
            where versions.reference_kind = distinct_references.reference_kind
                and versions.reference_value = distinct_references.reference_value
                and {{ in_force('versions', 'distinct_references.event_date', named_later=true) }}
        ) as is_named_later,
    from reference_triples as distinct_references
),

not_in_force as (
    select * from reference_checks
    where not is_in_force
),

unknown_references as (
    select
        references_named.event_id,
        references_named.reference_kind || '_unknown' as flag_code,
        references_named.event_type,
        references_named.event_date,
        references_named.municipality_code,
        references_named.mykey_id,
        references_named.reference_value,
        references_named.amount_yen,
        not_in_force.is_named_later as is_resolved,
        references_named.file_sha256,
        references_named.line_number,
    from references_named
    inner join not_in_force  -- a null value (a row naming no municipality) is a reference too: never in force
        on references_named.reference_kind = not_in_force.reference_kind
        and references_named.reference_value is not distinct from not_in_force.reference_value
        and references_named.event_date is not distinct from not_in_force.event_date
),

cancels as (
    select * from {{ ref('int_settlement__events') }}
    where event_type = 'cancel'
),

excess as (
    select event_id, sum(amount_yen) as excess_yen
    from {{ ref('int_lot_movements') }}
    where movement_kind = 'cancel_excess'
    group by event_id
),

cancel_flags as (
    select
        cancels.event_id,
        'cancel_exceeds_use' as flag_code,
        cancels.event_type,
        cancels.event_date,
        cancels.municipality_code,
        cancels.mykey_id,
        cancels.cancel_of as reference_value,
        excess.excess_yen as amount_yen,
        false as is_resolved,
        cancels.file_sha256,
        cancels.line_number,
    from cancels
    inner join excess using (event_id)
    union all
    select
        event_id,
        'cancel_merchant_mismatch' as flag_code,
        event_type,
        event_date,
        municipality_code,
        mykey_id,
        named_merchant_id as reference_value,
        amount_yen,
        false as is_resolved,
        file_sha256,
        line_number,
    from cancels
    where is_cancel_merchant_mismatch
),

final as (
    select * from unknown_references
    union all
    select * from cancel_flags
)

select * from final
