-- Every event's postings balance: debits = credits (posting_group_id = event, or expiry:<lot>).
select posting_group_id, municipality_code, sum(debit_yen) as debit_yen, sum(credit_yen) as credit_yen
from {{ ref('fct_ledger_entries') }}
group by all
having sum(debit_yen) <> sum(credit_yen)
