with

source as (
    select * from {{ source('raw', 'master_cost_rates') }}
),

final as (
    select
        business_date as snapshot_date,
        item,
        unit,
        -- exact decimal text (decimals are allowed here only, FORMATS.md): the cost report decides its precision
        yen_per_unit,
        file_sha256,
        line_number,
    from source
)

select * from final
