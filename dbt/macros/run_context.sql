{#-
  What changes from one build to the next, read from the environment seisan.marts.build_marts sets (dbt_env), not
  from dbt --vars: dbt re-parses the whole project when the command line's vars change, but re-parses only the few
  files that read an env_var whose value changed.
    business_date()          the business date D being built, 'YYYY-MM-DD' (Asia/Tokyo); required
    full_check()             true: the data tests of the balances family check every day (changed_days.sql)
    balances_changed_from()  'YYYY-MM-DD' or '': the merged sharded run's earliest day any shard rewrote
    recomputed_since()       'YYYY-MM-DD': the marts after the FIFO engine take its movements computed on or after
                             this date (computed_for_date): D, or the day after the last whole build that succeeded
                             (seisan.marts.recomputed_since), so a failed build's movements still reach them
-#}
{% macro business_date() -%}
    {{- return(env_var('SEISAN_DBT_BUSINESS_DATE')) -}}
{%- endmacro %}

{% macro full_check() -%}
    {{- return(env_var('SEISAN_DBT_FULL_CHECK', 'false') | lower in ('true', '1')) -}}
{%- endmacro %}

{% macro balances_changed_from() -%}
    {{- return(env_var('SEISAN_DBT_BALANCES_CHANGED_FROM', '') or none) -}}
{%- endmacro %}

{% macro recomputed_since() -%}
    {{- return(env_var('SEISAN_DBT_RECOMPUTED_SINCE', business_date())) -}}
{%- endmacro %}
