{#-
  Turn full master snapshots into validity intervals, one row per unchanged run of an entity.

  Master files are full snapshots: the newest one on or before D is in force for D. A snapshot's rows are
  therefore in force from its snapshot_date to the day before the next snapshot (open for the newest).
  Consecutive snapshots in which an entity has the same attributes are merged into one interval, so
  "in force on D" is one join (macro in_force):  valid_from <= D and (valid_to is null or valid_to >= D).
  An entity missing from a snapshot is not in force while that snapshot is.
  effective_from: the day after the entity's previous version ends (null for its first version): where a row
  names an entity not in force on its date, the first later version that names it applies
  (in_force(..., named_later=true); FORMATS.md "References not known yet").
-#}
{% macro versioned_master(relation, key_columns, attribute_columns) %}
{%- set keyed_by_date = 'partition by ' ~ key_columns | join(', ') ~ ' order by snapshot_date' %}
with

master_rows as (
    select * from {{ relation }}
),

snapshot_dates as (
    select distinct snapshot_date from master_rows
),

snapshot_spans as (
    select
        snapshot_date,
        cast(lead(snapshot_date) over (order by snapshot_date) - 1 as date) as snapshot_end_date,
    from snapshot_dates
),

hashed as (
    select
        master_rows.*,
        snapshot_spans.snapshot_end_date,
        md5(concat_ws('|'
            {%- for col in attribute_columns %}, coalesce(cast({{ col }} as varchar), '<null>'){% endfor %}
        )) as attribute_hash,
    from master_rows
    inner join snapshot_spans using (snapshot_date)
),

flagged as (
    select
        *,
        case
            when lag(attribute_hash) over ({{ keyed_by_date }}) is null then 1
            when lag(attribute_hash) over ({{ keyed_by_date }}) <> attribute_hash then 1
            -- the entity was missing from the snapshot before (the previous one ended earlier)
            when lag(snapshot_end_date) over ({{ keyed_by_date }}) <> cast(snapshot_date - 1 as date) then 1
            else 0
        end as starts_version,
    from hashed
),

numbered as (
    select
        *,
        sum(starts_version) over (
            partition by {{ key_columns | join(', ') }} order by snapshot_date
            rows between unbounded preceding and current row
        ) as version_number,
    from flagged
),

final as (
    select
        {% for col in key_columns %}{{ col }},
        {% endfor -%}
        version_number,
        min(snapshot_date) as valid_from,
        case when bool_or(snapshot_end_date is null) then null else max(snapshot_end_date) end as valid_to,
        {% for col in attribute_columns %}arg_max({{ col }}, snapshot_date) as {{ col }},
        {% endfor %}
    from numbered
    group by all
),

with_effective_from as (
    select
        *,
        cast(lag(valid_to) over (partition by {{ key_columns | join(', ') }} order by valid_from) + 1 as date)
            as effective_from,
    from final
)

select * from with_effective_from
{% endmacro %}
