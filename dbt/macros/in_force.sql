{#- A master version is in force on a date when valid_from <= date and (valid_to is null or date <= valid_to):
    both ends included, an open end for the current version. Used wherever a row joins the master of its date. -#}
{% macro in_force(version, on_date) -%}
{{ on_date }} >= {{ version }}.valid_from and ({{ version }}.valid_to is null or {{ on_date }} <= {{ version }}.valid_to)
{%- endmacro %}
