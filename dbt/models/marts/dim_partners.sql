with

versions as (
    select * from {{ ref('int_partners__versioned') }}
),

final as (
    select
        {{ surrogate_key(['partner_code', 'valid_from']) }} as partner_version_key,
        *,
    from versions
)

select * from final
