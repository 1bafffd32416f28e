with

versions as (
    select * from {{ ref('int_designations__versioned') }}
),

final as (
    select
        {{ surrogate_key(['municipality_code', 'merchant_id', 'designated_from', 'valid_from']) }}
            as designation_version_key,
        *,
    from versions
)

select * from final
