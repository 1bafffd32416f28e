with

versions as (
    {{ versioned_master(ref('stg_master__designations'), ['municipality_code', 'merchant_id', 'designated_from'],
        ['designated_to']) }}
),

-- in_force_from..in_force_to: the designation's own interval inside the span of the snapshots that hold it,
-- that span reaching back over the gap before it (effective_from; the whole past for its first version):
-- a designation listed late still counts from its designated_from ("References not known yet").
spans as (
    select
        *,
        case
            when effective_from is null then designated_from
            else greatest(designated_from, effective_from)
        end as in_force_from,
        case
            when designated_to is null then valid_to
            when valid_to is null then designated_to
            else least(designated_to, valid_to)
        end as in_force_to,
    from versions
),

final as (
    select *
    from spans
    where in_force_to is null or in_force_from <= in_force_to
)

select * from final
