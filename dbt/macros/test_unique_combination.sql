{#- Generic test: the given columns together identify a row (no duplicates, nulls count as values). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as row_count
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
