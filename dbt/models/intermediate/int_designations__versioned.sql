with

versions as (
    {{ versioned_master(ref('stg_master__designations'), ['municipality_code', 'merchant_id', 'designated_from'],
        ['designated_to']) }}
),

final as (
    select
        *,
        greatest(designated_from, valid_from) as in_force_from,
        case
            when designated_to is null then valid_to
            when valid_to is null then designated_to
            else least(designated_to, valid_to)
        end as in_force_to,
    from versions
    where designated_to is null or valid_to is null or greatest(designated_from, valid_from) <= least(designated_to, valid_to)
)

select * from final
