{#-
  Incremental models whose rows depend on masters as well as on the ledger (int_point_lots__dated,
  int_settlement__merchant_status, int_settlement__periods) compute only the rows that changed while the masters
  they read are the same as when each row was computed, and every row again when they are not. A late snapshot can
  change any old row (a hold lifts, a cycle or a cap changes): that is a full recompute, as when the model was a
  table or a view.

  masters_fingerprint(relations): one string for the content of the given master relations (the versioned views
  the model joins): per relation (by name, not by database) its row count and the XOR of every row's hash, md5
  over them. The same masters give the same string in any warehouse of the same municipalities; computed at run
  time, so every row a build writes carries it (column masters_fingerprint).

  built_from_masters(fingerprint): true when this incremental build may compute only the changed events: the
  table exists, has the column, holds rows and every row carries this fingerprint. A table built before the column
  existed (on_schema_change append_new_columns adds it), from other masters, or empty is computed again in full.

  upstream_masters_fingerprint(relations): for a model whose rows depend on the masters only through such
  incremental models (fct_settlement_items): one string for the fingerprints their rows carry. When a late
  snapshot makes them compute every event again, it changes.

  delete_unless_built_from_masters(fingerprint): a pre_hook for a model whose rows a full recompute may not
  produce again (an item whose events moved to another status): deletes every row when built_from_masters is
  false, so the recompute leaves no stale row. (The model's SQL is compiled before its hooks run: both see the
  table as it was.)
-#}
{#- '' when not building: at parse time, in a unit test (its refs are its given rows, CTEs, not relations to query;
    its expected rows leave the column out), and when a relation is not built (sqlfluff compiles the models on an
    empty warehouse). A build always has them: dbt builds a model's refs first. -#}
{% macro _fingerprint_unavailable(relations) -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{- return(true) -}}
    {%- endif -%}
    {%- for relation in relations -%}
        {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
            {{- return(true) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(false) -}}
{%- endmacro %}

{#- md5 over one part per relation, '<identifier>:<part>', the part an aggregate over the relation's rows (alias
    versions) -#}
{% macro _fingerprint(relations, part) -%}
    {%- if _fingerprint_unavailable(relations) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set query -%}
        select md5(string_agg(part, ',' order by part)) from (
        {%- for relation in relations %}
            select '{{ relation.identifier }}:' || {{ part }} as part
            from {{ relation }} as versions
            {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
        )
    {%- endset -%}
    {{- return(run_query(query).columns[0].values()[0]) -}}
{%- endmacro %}

{% macro masters_fingerprint(relations) -%}
    {{- return(_fingerprint(relations, "count(*) || ':' || coalesce(bit_xor(hash(versions)), 0)")) -}}
{%- endmacro %}

{% macro built_from_masters(fingerprint) -%}
    {%- if not execute or model.resource_type == 'unit_test' or not is_incremental() -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'masters_fingerprint' not in names -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set query -%}
        select count(*) > 0 and count(*) filter (where masters_fingerprint is distinct from '{{ fingerprint }}') = 0
        from {{ this }}
    {%- endset -%}
    {{- return(run_query(query).columns[0].values()[0]) -}}
{%- endmacro %}

{% macro upstream_masters_fingerprint(relations) -%}
    {{- return(_fingerprint(relations,
        "coalesce(string_agg(distinct masters_fingerprint, '+' order by masters_fingerprint), '')")) -}}
{%- endmacro %}

{% macro delete_unless_built_from_masters(fingerprint) -%}
{%- if is_incremental() and not built_from_masters(fingerprint) -%}
delete from {{ this }}
{%- else -%}
select 1 as nothing_to_delete
{%- endif -%}
{%- endmacro %}
