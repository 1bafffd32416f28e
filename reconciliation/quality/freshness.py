"""Which files were expected for business date D, which arrived, and how fresh each source is
(`recon.source_freshness`), and the suite that checks it.

Delivery rules (FORMATS.md; a file is expected only where FORMATS.md or the day's own data says it must exist):
- platform `ledger_D`, `balances_D`, `mykey_certs_D`: the platform's daily exports, every day (global);
- masters: a snapshot of each of the eight masters in force on D (snapshots arrive only when a master changes,
  so `arrived` means "a snapshot dated D or earlier is loaded");
- terminal: an upload named for D from every terminal the day's ledger shows a terminal use or cancel for
  (one row per terminal and municipality of those events);
- partner: `sales_D` from each partner the day's ledger shows an online use or cancel for (the order id is the
  partner_txn_id); `conversion_D` from each partner with a conversion grant on D; `settlement_D` from each
  acquirer with a charge on D (one row per partner and municipality);
- bank: a statement of each municipality's paying account (municipalities snapshot in force on D) on every bank
  business day (`is_bank_business_day`).
`arrived` = a file of that feed named for D is loaded (status `loaded` or `released`); a rejected or conflicting
file did not arrive. Freshness: a daily or bank-day feed that has delivered before must have delivered on its
last due day before D (`freshness_floor_date`: D - 1 for the platform, the previous bank business day for a
bank account); D itself is the `expected`/`arrived` check.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from contracts.bank_calendar import bank_day_on_or_before, is_bank_business_day
from contracts.schemas import MASTER_KINDS, PLATFORM_KINDS
from reconciliation.quality.spec import Target, Where, a_at_least_b, in_set

SOURCES = ("platform", "master", "terminal", "partner", "bank")

FRESHNESS_DDL = """
create table if not exists recon.source_freshness (
    run_date DATE, source VARCHAR, kind VARCHAR, municipality_code VARCHAR, expected BOOLEAN, arrived BOOLEAN,
    latest_business_date DATE, source_key VARCHAR, freshness_floor_date DATE)"""

def _values(kinds: list[str]) -> str:
    return ", ".join(f"('{kind}')" for kind in kinds)


FRESHNESS_SQL = f"""
with loaded as (
    select source, kind, business_date,
           case when source in ('terminal', 'partner') then split_part(path, '/', 2)
                when source = 'bank' then regexp_extract(path, '([0-9]+_[0-9]+_[0-9]+)_[0-9]{{8}}\\.txt$', 1)
           end as source_key
    from raw.file_manifest
    where status in ('loaded', 'released') and business_date <= $run_date
),
feeds as (
    select source, kind, source_key, max(business_date) as latest_business_date,
           bool_or(business_date = $run_date) as arrived_today
    from loaded group by all
),
day_ledger as (select * from raw.platform_ledger where business_date = $run_date),
municipalities as (
    select * from raw.master_municipalities
    where business_date = (select max(business_date) from raw.master_municipalities where business_date <= $run_date)
),
expected as (
    select 'platform' as source, kind, null as municipality_code, null as source_key, true as expected,
           cast($run_date as date) - 1 as floor_date
    from (values {_values([k.table for k in PLATFORM_KINDS])}) as platform_kinds (kind)
    union all
    select 'master', kind, null, null, true, null
    from (values {_values([k.table for k in MASTER_KINDS])}) as master_kinds (kind)
    union all
    select distinct 'terminal', 'terminal_log', municipality_code, terminal_id, true, null::date from day_ledger
    where channel = 'terminal' and event_type in ('use', 'cancel') and terminal_id is not null
    union all
    select distinct 'partner', 'partner_sales', municipality_code, partner_code, true, null::date from day_ledger
    where channel = 'online' and event_type in ('use', 'cancel') and partner_code is not null
    union all
    select distinct 'partner', 'partner_conversion', municipality_code, partner_code, true, null::date
    from day_ledger where event_type = 'grant' and partner_code is not null and partner_txn_id is not null
    union all
    select distinct 'partner', 'partner_settlement', municipality_code, partner_code, true, null::date
    from day_ledger where event_type = 'charge' and partner_code is not null
    union all
    select distinct 'bank', 'bank_statement', municipality_code,
           payer_bank_code || '_' || payer_branch_code || '_' || payer_account_number,
           $is_bank_day, cast($previous_bank_day as date)
    from municipalities
)
select cast($run_date as date) as run_date, e.source, e.kind, e.municipality_code, e.expected,
       case when e.source = 'master' then f.latest_business_date is not null
            else coalesce(f.arrived_today, false) end as arrived,
       f.latest_business_date, e.source_key,
       -- a feed that never delivered is judged by `expected` alone, not called stale
       case when f.latest_business_date is not null then e.floor_date end as freshness_floor_date
from expected as e
left join feeds as f
    on f.source = e.source and f.kind = e.kind and f.source_key is not distinct from e.source_key
"""


def write_source_freshness(con: duckdb.DuckDBPyConnection, run_date: dt.date) -> int:
    """Replace run_date's rows of recon.source_freshness (the caller holds the transaction); returns the count."""
    con.execute("delete from recon.source_freshness where run_date = ?", [run_date])
    params = {"run_date": run_date, "is_bank_day": is_bank_business_day(run_date),
              "previous_bank_day": bank_day_on_or_before(run_date - dt.timedelta(days=1))}
    con.execute(f"insert into recon.source_freshness by name ({FRESHNESS_SQL})", params)
    return con.execute("select count(*) from recon.source_freshness where run_date = ?", [run_date]).fetchone()[0]


def targets() -> list[Target]:
    """The freshness suite: expected files arrived (per source), and no feed is stale."""
    arrived = tuple(
        in_set("arrived", [True], f"every {source} file due for D was loaded", where=Where("source", "==", source),
               name=f"{source} files due for D arrived")
        for source in SOURCES)
    return [
        Target("freshness", "expected_files", "recon.source_freshness",
               "select * from recon.source_freshness where run_date = $run_date and expected", arrived,
               description="files due for D (FORMATS.md delivery rules) and whether they arrived"),
        Target("freshness", "latest_delivery", "recon.source_freshness",
               "select * from recon.source_freshness where run_date = $run_date and freshness_floor_date is not null",
               (a_at_least_b("latest_business_date", "freshness_floor_date",
                             "a daily or bank-day source delivered on its last due day before D (not stale)"),),
               description="newest business date per feed against its last due day"),
    ]
