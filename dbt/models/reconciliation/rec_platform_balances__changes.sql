-- The business dates on which a row of either side of the pair platform_balances may have changed, and when
-- (UTC): a day of marts.fct_balances rebuilt (its computed_at; every input of rec_seisan__balances - movements,
-- lots - changes through a rebuild of fct_balances from the earliest day it touches), and a platform balances
-- file loaded (its latest raw.file_manifest row). The matching engine reads the dates changed after the pair's
-- previous run (reconciliation/rules/platform_balances.yml, `changes`).
with

rebuilt as (
    select business_date, computed_at as changed_at
    from {{ ref('fct_balances') }}
),

files as (
    select file_sha256, max(ingested_at) as ingested_at
    from {{ source('raw', 'file_manifest') }}
    group by file_sha256
),

reported as (
    select distinct balances.business_date, files.ingested_at as changed_at
    from {{ ref('stg_platform__balances') }} as balances
    inner join files using (file_sha256)
),

final as (
    select business_date, changed_at from rebuilt
    union all
    select business_date, changed_at from reported
)

select * from final
