{#- Generic test: a boolean SQL expression is true on every row (rows where it is false or null fail). -#}
{% test expression_holds(model, column_name=none, expression=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
