{#
  The payments table `identifier` (schema payments), or none when it does not exist yet. The payments tables are
  created by the payments code (payments/schema.py), not by dbt: a model reading them must also work before the
  first payments step, so it asks first (at run time; while parsing, the answer is none).
#}
{% macro payments_relation(identifier) -%}
{%- if execute -%}
{{ return(adapter.get_relation(database=target.database, schema='payments', identifier=identifier)) }}
{%- else -%}
{{ return(none) }}
{%- endif -%}
{%- endmacro %}
