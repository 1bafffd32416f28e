{#- Generic test: the column is the relation's key: no row holds it null and no two rows share it. dbt's `unique`
    and `not_null` in one query: the relation (often a view over the whole ledger) is read once instead of twice,
    and a build runs one node per key instead of two (dbt's fixed cost is about 80 ms a node). A failing row names
    the key value and how many rows hold it; a null key_value counts the rows that have no key. -#}
{% test primary_key(model, column_name) %}
select {{ column_name }} as key_value, count(*) as row_count
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}
