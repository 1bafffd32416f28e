{#-
  Data tests over the balances family (one row per resident, programme and day: the tables that grow with
  residents x days) check only the days this run changed, unless full_check() is true (`seisan marts
  --full-check`). A test opts in with `config: {where: changed_balance_days}` (a day rebuilt or loaded) or
  `config: {where: loaded_balance_days}` (a day loaded: for the platform's side, tested before fct_balances is
  built); get_where_subquery (dbt's own, overridden here) turns the word into the condition below, and uses any
  other `where` as written.

  The days changed: those the latest build of marts.fct_balances rewrote (it rebuilds whole days, delete+insert by
  business_date, from the earliest day a late event touched: every row of such a day carries that build's
  computed_at), and the days of the platform balances files loaded by this business date's ingest; tested as
  every day from the earliest of them on. A row of an earlier day was tested on the run that wrote it and has not
  changed since; a duplicate key can only arise within a day that changed, since every key holds the day.
-#}
{#- The earliest changed day and every day after it: a comparison with ONE scalar subquery, which DuckDB pushes
    down to the scan of fct_balances through the views. A list of days (`in (select ...)`) is not pushed down, nor
    is an expression over several subqueries (`coalesce(least((select ...), (select ...)), ...)`): testing
    rec_seisan__balances then evaluates it for the whole year (5.3 s against 0.2 s on day 365 of bench-history). -#}
{#- A shard's warehouse (seisan/shards.py) holds only the raw tables its marts read: no platform balances and no
    manifest, so no day loaded there; its tests check the days its fct_balances build rewrote. -#}
{% macro loaded_balance_days_from() -%}
    {%- set balances = adapter.get_relation(database=target.database, schema='raw', identifier='platform_balances') -%}
    {%- set manifest = adapter.get_relation(database=target.database, schema='raw', identifier='file_manifest') -%}
    {%- if balances is none or manifest is none -%}
    cast(null as date)
    {%- else -%}
    (select min(business_date) from raw.platform_balances
        where file_sha256 in (
            select file_sha256 from raw.file_manifest
            where ingest_run_date = date '{{ business_date() }}'))
    {%- endif -%}
{%- endmacro %}

{% macro loaded_balance_days() -%}
    business_date >= (select coalesce({{ loaded_balance_days_from() }}, date '9999-12-31'))
{%- endmacro %}

{#- After a sharded build (seisan/shards.py) the national fct_balances holds each shard's build with its own
    computed_at, so the latest stamp is only the last shard's: the merge passes the earliest day any shard's
    latest build rewrote as balances_changed_from() instead (run_context.sql). -#}
{% macro changed_balance_days() -%}
    {%- set built = adapter.get_relation(database=target.database, schema='marts', identifier='fct_balances') -%}
    {%- if balances_changed_from() is not none -%}
        business_date >= (select coalesce(least(date '{{ balances_changed_from() }}',
            {{ loaded_balance_days_from() }}), date '9999-12-31'))
    {%- elif built is none -%}
        true
    {%- else -%}
        business_date >= (select coalesce(least(
            (select min(business_date) from {{ built }}
                where computed_at = (select max(computed_at) from {{ built }})),
            {{ loaded_balance_days_from() }}), date '9999-12-31'))
    {%- endif -%}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where in ('changed_balance_days', 'loaded_balance_days') and full_check() -%}
        {%- set where = '' -%}
    {%- elif where == 'changed_balance_days' -%}
        {%- set where = changed_balance_days() -%}
    {%- elif where == 'loaded_balance_days' -%}
        {%- set where = loaded_balance_days() -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
