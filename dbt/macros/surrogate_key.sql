{#- The surrogate key of a mart row: md5 of its key columns joined with '|' (null columns are skipped, as
    concat_ws does). One owner: every *_key / *_id made of other columns is written with this macro. -#}
{% macro surrogate_key(columns) -%}
md5(concat_ws('|'{% for col in columns %}, {{ col }}{% endfor %}))
{%- endmacro %}
