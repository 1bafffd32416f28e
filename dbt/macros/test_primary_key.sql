{#- Generic test: the column is the relation's key: no row holds it null and no two rows share it. dbt's `unique`
    and `not_null` in one query: the relation (often a view over the whole ledger) is read once instead of twice,
    and a build runs one node per key instead of two (dbt's fixed cost is about 80 ms a node). A failing row names
    the key value and how many rows hold it; a null key_value counts the rows that have no key. -#}
{#- scope (optional): recomputed_rows, loaded_rows or loaded_events (changed_days.sql): only the keys of the rows this build wrote
    are checked, each counted over the whole relation (a new row repeating an old key fails); every key with the
    full check. -#}
{% test primary_key(model, column_name, scope=none) %}
{%- set changed = changed_rows(scope) -%}
{%- if changed %}
with changed_keys as (
    select {{ column_name }} as key_value from {{ model }} where {{ changed }}
)
select {{ column_name }} as key_value, count(*) as row_count
from {{ model }}
where {{ column_name }} in (select key_value from changed_keys)
group by {{ column_name }}
having count(*) > 1
union all
select null as key_value, count(*) as row_count
from changed_keys
where key_value is null
having count(*) > 0
{%- else %}
select {{ column_name }} as key_value, count(*) as row_count
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{%- endif %}
{% endtest %}
