with

versions as (
    select * from {{ ref('int_merchants__versioned') }}
),

final as (
    select
        md5(concat_ws('|', merchant_id, valid_from)) as merchant_version_key,
        *,
    from versions
)

select * from final
