with

versions as (
    select * from {{ ref('int_merchants__versioned') }}
),

final as (
    select
        {{ surrogate_key(['merchant_id', 'valid_from']) }} as merchant_version_key,
        *,
    from versions
)

select * from final
