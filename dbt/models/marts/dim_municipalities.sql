with

versions as (
    select * from {{ ref('int_municipalities__versioned') }}
),

final as (
    select
        md5(concat_ws('|', municipality_code, valid_from)) as municipality_version_key,
        *,
    from versions
)

select * from final
