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
{#- The earliest changed day as one scalar subquery; '' when fct_balances is not built yet (every day changed). -#}
{% macro changed_balance_days_from() -%}
    {%- set built = adapter.get_relation(database=target.database, schema='marts', identifier='fct_balances') -%}
    {%- if balances_changed_from() is not none -%}
        (select coalesce(least(date '{{ balances_changed_from() }}',
            {{ loaded_balance_days_from() }}), date '9999-12-31'))
    {%- elif built is none -%}
    {%- else -%}
        (select coalesce(least(
            (select min(business_date) from {{ built }}
                where computed_at = (select max(computed_at) from {{ built }})),
            {{ loaded_balance_days_from() }}), date '9999-12-31'))
    {%- endif -%}
{%- endmacro %}

{% macro changed_balance_days() -%}
    {%- set changed_from = changed_balance_days_from() | trim -%}
    {{- ('business_date >= ' ~ changed_from) if changed_from else 'true' -}}
{%- endmacro %}

{#- The FIFO family (int_lot_movements and the marts that copy its rows: one row per movement or posting, every
    event of the history) and the platform ledger's relations (one row per event) are tested by the rows a build
    wrote, unless full_check(): `recomputed_rows`, the movements computed since recomputed_since() (the day after the
    last whole build that succeeded: a failed build's rows are tested by the next; run_context.sql), and
    `loaded_rows`, the ledger rows of the files ingested since then (lineage file_sha256; a shard's warehouse has no
    manifest: every row), and `loaded_events`, the rows of those events in a relation without lineage (the FIFO
    input, one row per event: its joins to the lots and the settlement events are 1:1 by their own key tests).
    A row written earlier was tested by the build that wrote it, and no build changes it without writing it again
    (the incremental models delete and insert whole partitions). A key test opts in with
    its `scope` argument (test_primary_key.sql: the keys of those rows, counted over the whole relation, so a new
    row repeating an old key fails), a row test with `config: {where: ...}`. -#}
{% macro changed_rows(scope) -%}
    {%- if not scope or full_check() -%}
        {{- return('') -}}
    {%- elif scope == 'recomputed_rows' -%}
        {{- return("computed_for_date >= date '" ~ recomputed_since() ~ "'") -}}
    {%- elif scope in ('loaded_rows', 'loaded_events') -%}
        {%- set manifest = adapter.get_relation(database=target.database, schema='raw', identifier='file_manifest') -%}
        {%- if manifest is none -%}
            {{- return('') -}}
        {%- endif -%}
        {%- set loaded = "file_sha256 in (select file_sha256 from raw.file_manifest where ingest_run_date >= date '"
                         ~ recomputed_since() ~ "')" -%}
        {{- return(loaded if scope == 'loaded_rows'
                   else "event_id in (select event_id from raw.platform_ledger where " ~ loaded ~ ")") -}}
    {%- endif -%}
    {{- exceptions.raise_compiler_error("unknown test scope " ~ scope
                                        ~ ": recomputed_rows, loaded_rows or loaded_events") -}}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where in ('changed_balance_days', 'loaded_balance_days') and full_check() -%}
        {%- set where = '' -%}
    {%- elif where == 'changed_balance_days' -%}
        {%- set where = changed_balance_days() -%}
    {%- elif where == 'loaded_balance_days' -%}
        {%- set where = loaded_balance_days() -%}
    {%- elif where in ('recomputed_rows', 'loaded_rows', 'loaded_events') -%}
        {%- set where = changed_rows(where) -%}
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
