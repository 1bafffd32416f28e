with

versions as (
    select * from {{ ref('int_municipalities__versioned') }}
),

final as (
    select
        {{ surrogate_key(['municipality_code', 'valid_from']) }} as municipality_version_key,
        *,
    from versions
)

select * from final
