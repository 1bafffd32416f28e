{#-
  The references a platform ledger row names and the versioned master each must be in force in (FORMATS.md
  "References not known yet"): (kind, the ledger's column, the master model). fct_control_flags reads them here.
-#}
{% macro ledger_reference_kinds() -%}
    {%- do return([
        ('municipality', 'municipality_code', 'int_municipalities__versioned'),
        ('merchant', 'merchant_id', 'int_merchants__versioned'),
        ('program', 'program_code', 'int_programs__versioned'),
        ('partner', 'partner_code', 'int_partners__versioned'),
    ]) -%}
{%- endmacro %}

{#- The rows of `relation` once per reference they name, with `columns` of each, reference_kind and
    reference_value: a row always names its municipality (even a null one), the others only when not null. -#}
{% macro ledger_references(relation, columns) -%}
    {%- for kind, column, master in ledger_reference_kinds() %}
    {% if not loop.first %}union all{% endif %}
    select {{ columns }}, '{{ kind }}' as reference_kind, {{ column }} as reference_value from {{ relation }}
    {%- if kind != 'municipality' %}
    where {{ column }} is not null
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
