"""Where every yen of a merchant's settlement items is, per municipality, as of a run date.

    items_yen = transferred_yen + carried_yen + unfrozen_yen + held_yen

- items_yen: every settlement item of a period ended on or before D (marts.fct_settlement_items, any status);
- held_yen: items held (status held_*: unknown, undesignated or inactive merchant); never paid from here;
- unfrozen_yen: payable items not yet in a statement or adjustment (the gate was not open, or the change came
  after the last freeze): held by the gate;
- transferred_yen: payouts planned and not returned (pending, batched, issued, confirmed), gross (`amount_yen`,
  the fee included when the payee bears it);
- carried_yen: frozen amounts no payout has taken (below minimum, negative, returned and not yet re-paid,
  payee-fee remainders).
The first and last two are computed from different tables, so `transferred + carried = frozen` is a real check
(seisan payments status prints a violation; the tests hold it on random histories).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

LIVE_STATES = ("pending", "batched", "issued", "confirmed")


@dataclass(frozen=True, slots=True)
class Position:
    municipality_code: str
    merchant_id: str
    items_yen: int
    held_yen: int
    unfrozen_yen: int
    frozen_yen: int
    transferred_yen: int
    carried_yen: int

    @property
    def balanced(self) -> bool:
        return (self.transferred_yen + self.carried_yen == self.frozen_yen
                and self.transferred_yen + self.carried_yen + self.unfrozen_yen + self.held_yen == self.items_yen)


_POSITIONS_SQL = """
with items as (
    select municipality_code, merchant_id,
           sum(amount_yen) as items_yen,
           sum(amount_yen) filter (where settlement_status <> 'payable') as held_yen,
           sum(amount_yen) filter (where settlement_status = 'payable') as payable_yen
    from marts.fct_settlement_items where period_end_date <= $d group by all
),
frozen as (
    select municipality_code, merchant_id, sum(amount_yen) as frozen_yen from (
        select municipality_code, merchant_id, amount_yen from payments.statements
        union all select municipality_code, merchant_id, amount_yen from payments.adjustments
    ) group by all
),
transferred as (
    select municipality_code, merchant_id, sum(amount_yen) as transferred_yen
    from payments.payouts where state in ('pending', 'batched', 'issued', 'confirmed') group by all
),
sources as (
    select municipality_code, merchant_id, statement_id as source_id, amount_yen from payments.statements
    union all select municipality_code, merchant_id, adjustment_id, amount_yen from payments.adjustments
    union all select municipality_code, merchant_id, payout_id, amount_yen from payments.payouts
        where state = 'returned'
    union all select municipality_code, merchant_id, remainder_id, amount_yen from payments.remainders
),
carried as (
    select municipality_code, merchant_id, sum(amount_yen) as carried_yen
    from sources where source_id not in (select source_id from payments.payout_items) group by all
),
keys as (
    select municipality_code, merchant_id from items union select municipality_code, merchant_id from frozen
)
select keys.municipality_code, keys.merchant_id,
       coalesce(items_yen, 0), coalesce(held_yen, 0), coalesce(payable_yen, 0) - coalesce(frozen_yen, 0),
       coalesce(frozen_yen, 0), coalesce(transferred_yen, 0), coalesce(carried_yen, 0)
from keys
left join items using (municipality_code, merchant_id)
left join frozen using (municipality_code, merchant_id)
left join transferred using (municipality_code, merchant_id)
left join carried using (municipality_code, merchant_id)
where $m is null or keys.municipality_code = $m
order by all
"""


def positions(con: duckdb.DuckDBPyConnection, run_date: dt.date, *,
              municipality: str | None = None) -> list[Position]:
    """Every merchant's position on run_date (the payments tables must exist: payments.schema.ensure_schema)."""
    return [Position(r[0], r[1], *(int(v) for v in r[2:]))
            for r in con.execute(_POSITIONS_SQL, {"d": run_date, "m": municipality}).fetchall()]
