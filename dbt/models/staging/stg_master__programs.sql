with

source as (
    select * from {{ source('raw', 'master_programs') }}
),

final as (
    select
        business_date as snapshot_date,
        program_code,
        municipality_code,
        name,
        kind,
        funding,
        expiry as expiry_rule,
        cast(annual_cap_per_person as bigint) as annual_cap_per_person_yen,
    from source
)

select * from final
