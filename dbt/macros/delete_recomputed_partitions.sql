{#-
  pre_hook of the marts kept per (municipality_code, mykey_id, business_date) partition of int_lot_movements
  (fct_lot_consumptions, fct_ledger_entries): before an incremental run inserts, delete EVERY partition this run
  recomputed (rows of int_lot_movements with computed_for_date = D).

  Why: delete+insert only deletes the keys present in the new batch. These marts keep a subset of the movement
  rows (consume/restore only; non-zero amounts only), so a recomputed partition can become empty in the mart
  (e.g. a late grant leaves an expiry of 0, a late adjust turns a use into a shortfall) and its stale rows would
  survive. Deleting by the movement partitions instead removes them.
-#}
{% macro delete_recomputed_partitions() %}
{%- if is_incremental() -%}
delete from {{ this }}
where (municipality_code, mykey_id, business_date) in (
    select (municipality_code, mykey_id, business_date)
    from {{ ref('int_lot_movements') }}
    where computed_for_date = date '{{ var("business_date") }}'
)
{%- else -%}
select 1 as nothing_to_delete
{%- endif -%}
{% endmacro %}
