{#-
  post_hook (outside the transaction) of an incremental Python model: drop the tables its incremental runs left.

  Why: on an incremental run, dbt-duckdb (1.11) writes a Python model's result into `<model>__dbt_tmp<timestamp>`
  and then delete+inserts from it into the model. It names that relation as a connection's temporary table and so
  never drops it, but its Python writer (the macro py_write_table) ignores `temporary` and creates an ordinary
  table in the warehouse's default schema. Every daily build of int_lot_movements thus left a second copy of the
  day's movements behind (678,384 rows on day 4 at 1,000,000 residents; a year of them nationally would be as many
  rows again as the model itself). Dropping every such table of this model here also removes the ones earlier
  builds left. Nothing reads them: dbt's delete+insert is committed before this hook runs.
-#}
{% macro drop_python_model_leftovers() %}
{%- set found = [] -%}
{%- if execute -%}
    {%- set rows = run_query(
        "select table_schema, table_name from information_schema.tables "
        ~ "where table_catalog = '" ~ this.database ~ "' and table_type = 'BASE TABLE' "
        ~ "and starts_with(table_name, '" ~ this.identifier ~ "__dbt_tmp') order by all") -%}
    {%- for row in rows -%}
        {%- do found.append(api.Relation.create(database=this.database, schema=row[0], identifier=row[1])) -%}
    {%- endfor -%}
{%- endif -%}
{%- if found -%}
{%- for relation in found %}drop table if exists {{ relation }};{% endfor -%}
{%- else -%}
select 1 as nothing_to_drop
{%- endif -%}
{% endmacro %}
