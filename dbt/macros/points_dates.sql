{#- Japanese fiscal year (1 April .. 31 March) that a date falls in, named by the year it starts in. -#}
{% macro fiscal_year(date_expr) -%}
    (year({{ date_expr }}) - case when month({{ date_expr }}) < 4 then 1 else 0 end)
{%- endmacro %}

{#-
  Expiry date of a lot granted on grant_date under a programme expiry rule (FORMATS.md):
  days:N -> grant_date + N days; fiscal_year_end:K -> 31 March of fiscal year (grant's + K), i.e. the
  31 March that ends fiscal year fy+K; none (or unknown) -> null, never expires. Points can be spent
  until 23:59:59 JST of this date.
-#}
{% macro lot_expiry_date(grant_date, expiry_rule) -%}
    case
        when {{ expiry_rule }} like 'days:%'
            then cast({{ grant_date }} + cast(split_part({{ expiry_rule }}, ':', 2) as integer) as date)
        when {{ expiry_rule }} like 'fiscal_year_end:%'
            then make_date({{ fiscal_year(grant_date) }} + cast(split_part({{ expiry_rule }}, ':', 2) as integer) + 1, 3, 31)
        else null
    end
{%- endmacro %}
