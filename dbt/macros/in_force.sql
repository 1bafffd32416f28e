{#-
  THE "in force on a date" rule of every master (one owner; every model joining a master uses this macro).

  A master version is in force on a date when valid_from <= date and (valid_to is null or date <= valid_to):
  both ends included, an open end for the current version.

  named_later=true is the rule for references not known yet (FORMATS.md): a row naming an entity that no
  snapshot in force on its date holds takes the FIRST later version that names it. Each version's
  effective_from (see versioned_master) reaches back over the gap before it (open for an entity's first
  version), so every date up to the last valid_to has exactly one such version, and a late snapshot lifts a
  hold on the next build with no manual step. Flags (fct_control_flags) use the strict rule.
-#}
{% macro in_force(version, on_date, named_later=false) -%}
{%- if named_later -%}
({{ version }}.effective_from is null or {{ on_date }} >= {{ version }}.effective_from)
and ({{ version }}.valid_to is null or {{ on_date }} <= {{ version }}.valid_to)
{%- else -%}
{{ on_date }} >= {{ version }}.valid_from and ({{ version }}.valid_to is null or {{ on_date }} <= {{ version }}.valid_to)
{%- endif -%}
{%- endmacro %}
