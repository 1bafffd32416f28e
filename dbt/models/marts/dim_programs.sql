with

versions as (
    select * from {{ ref('int_programs__versioned') }}
),

final as (
    select
        md5(concat_ws('|', program_code, valid_from)) as program_version_key,
        *,
    from versions
)

select * from final
