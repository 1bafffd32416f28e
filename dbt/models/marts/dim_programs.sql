with

versions as (
    select * from {{ ref('int_programs__versioned') }}
),

final as (
    select
        {{ surrogate_key(['program_code', 'valid_from']) }} as program_version_key,
        *,
    from versions
)

select * from final
