{#-
  pre_hook of the marts kept per (municipality_code, mykey_id, business_date) partition of int_lot_movements
  (fct_lot_consumptions, fct_ledger_entries): before an incremental run inserts, delete EVERY partition this run
  recomputed (rows of int_lot_movements computed since recomputed_since(): D, or earlier after a failed build).

  Why: delete+insert only deletes the keys present in the new batch. These marts keep a subset of the movement
  rows (consume/restore only; non-zero amounts only), so a recomputed partition can become empty in the mart
  (e.g. a late grant leaves an expiry of 0, a late adjust turns a use into a shortfall) and its stale rows would
  survive. Deleting by the movement partitions instead removes them. It deletes each recomputed resident from
  its first recomputed date on (the engine rewrote every partition from there): a lot whose expiry date a late
  programmes snapshot moved leaves its old expiry date with no movement at all.
-#}
{% macro delete_recomputed_partitions() %}
{%- if is_incremental() -%}
delete from {{ this }} as stale
using (
    select municipality_code, mykey_id, min(business_date) as restart_date
    from {{ ref('int_lot_movements') }}
    where computed_for_date >= date '{{ recomputed_since() }}'
    group by all
) as recomputed
where stale.municipality_code = recomputed.municipality_code
    and stale.mykey_id = recomputed.mykey_id
    and stale.business_date >= recomputed.restart_date
{%- else -%}
select 1 as nothing_to_delete
{%- endif -%}
{% endmacro %}
