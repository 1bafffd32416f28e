-- Every event's postings balance: debits = credits (posting_group_id = event, or expiry:<lot>). The groups with a
-- posting this build wrote (every group with the full check: dbt/macros/changed_days.sql), all their postings
-- summed: a group's postings are written together, so a group with none written was checked when it was.
{%- set changed = changed_rows('recomputed_rows') %}
select posting_group_id, municipality_code, sum(debit_yen) as debit_yen, sum(credit_yen) as credit_yen
from {{ ref('fct_ledger_entries') }}
{%- if changed %}
where posting_group_id in (select posting_group_id from {{ ref('fct_ledger_entries') }} where {{ changed }})
{%- endif %}
group by all
having sum(debit_yen) <> sum(credit_yen)
