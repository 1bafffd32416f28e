"""The marts' suites: keys, ranges and the accounting identities of docs/marts.md, on what D's build touched.

Slices (never a whole-table scan where the table grows with history): ledger entries of business date D or
recomputed by D's build (`computed_for_date`); balances of D; lots granted or moved on D; control flags of
events on D. Settlement items and partner receivables are read whole: dbt rebuilds them in full on every build
anyway, and they hold one row per merchant and period (or partner and month), not per event.
"""

from __future__ import annotations

from contracts.reasons import ControlFlag
from reconciliation.quality.spec import Severity, Target, Where, a_at_least_b, between, in_set, unique, zero

LEDGER_ACCOUNTS = ("resident_point_liability", "municipal_point_expense", "partner_receivable",
                   "acquirer_receivable", "point_adjustment", "merchant_payable", "expired_points",
                   "unallocated_point_suspense")
SETTLEMENT_STATUSES = ("payable", "held_undesignated", "held_inactive_merchant", "held_unknown_municipality",
                       "held_unknown_merchant")
_LEDGER_SLICE = "(business_date = $run_date or computed_for_date = $run_date)"


def _ledger_entries() -> Target:
    sql = f"""select *, case when debit_yen <> 0 and credit_yen <> 0 then 1 else 0 end as both_sides_set
              from marts.fct_ledger_entries where {_LEDGER_SLICE}"""
    return Target("marts", "fct_ledger_entries", "marts.fct_ledger_entries", sql, (
        unique(["entry_id"], "one row per posting"),
        between("debit_yen", 0, None, "amounts are unsigned; the side says the direction"),
        between("credit_yen", 0, None, "amounts are unsigned; the side says the direction"),
        zero("both_sides_set", "a posting is a debit or a credit, never both", name="debit or credit, not both"),
        in_set("account", LEDGER_ACCOUNTS, "the chart of accounts of docs/marts.md"),
    ), description="postings of D and of the partitions D's build recomputed")


def _posting_groups() -> Target:
    sql = f"""select posting_group_id, any_value(municipality_code) as municipality_code,
                     cast(sum(debit_yen) - sum(credit_yen) as bigint) as imbalance_yen
              from marts.fct_ledger_entries where {_LEDGER_SLICE}
              group by posting_group_id"""
    return Target("marts", "ledger_posting_groups", "marts.fct_ledger_entries", sql, (
        zero("imbalance_yen", "double entry: every event's debits equal its credits",
             name="postings balance per event"),
    ), description="one row per event (posting_group_id) with debits - credits")


def _balances() -> Target:
    return Target("marts", "fct_balances", "marts.fct_balances",
                  "select * from marts.fct_balances where business_date = $run_date", (
                      unique(["business_date", "municipality_code", "program_code", "mykey_id"],
                             "one end-of-day balance per resident, programme and day"),
                      between("balance_yen", 0, None, "lots never go negative, so neither do balances"),
                  ), description="end-of-day balances of D")


def _point_lots() -> Target:
    sql = """select *, cast(amount_yen - consumed_yen + restored_yen - expired_yen - remaining_yen as bigint)
                        as remaining_difference_yen
             from marts.fct_point_lots where granted_date = $run_date or last_movement_date = $run_date"""
    return Target("marts", "fct_point_lots", "marts.fct_point_lots", sql, (
        unique(["lot_event_id"], "one row per lot"),
        between("remaining_yen", 0, None, "0 <= remaining", name="remaining_yen >= 0"),
        a_at_least_b("amount_yen", "remaining_yen", "remaining <= amount"),
        zero("remaining_difference_yen", "remaining = amount - consumed + restored - expired",
             name="remaining = amount - consumed + restored - expired"),
        between("amount_yen", 1, None, "a lot is a grant, charge or positive adjust"),
    ), description="lots granted or moved on D")


def _settlement_items() -> Target:
    sql = """select *,
                    cast(amount_yen - municipal_budget_yen - partner_yen - prepaid_yen - unallocated_yen as bigint)
                        as funding_split_difference_yen
             from marts.fct_settlement_items"""
    return Target("marts", "fct_settlement_items", "marts.fct_settlement_items", sql, (
        unique(["settlement_item_id"], "an item is identified by municipality, merchant, period and status"),
        zero("funding_split_difference_yen", "budget + partner + prepaid + unallocated = amount",
             name="funding split adds up"),
        in_set("settlement_status", SETTLEMENT_STATUSES, "docs/marts.md settlement statuses"),
        a_at_least_b("period_end_date", "period_start_date", "a period ends on or after its start"),
        between("use_amount_yen", 0, None, "uses add, cancels take back"),
        between("cancel_amount_yen", 0, None, "uses add, cancels take back"),
        between("amount_yen", 0, None, "an item that is payable never has a negative net",
                where=Where("is_payable", "==", True), name="payable items are not negative"),
    ), description="settlement items (the whole table, rebuilt on every dbt build)")


def _partner_receivables() -> Target:
    return Target("marts", "fct_partner_receivables", "marts.fct_partner_receivables",
                  "select * from marts.fct_partner_receivables", (
                      unique(["partner_code", "municipality_code", "month_start_date"],
                             "one receivable per partner, municipality and month"),
                      a_at_least_b("due_date", "month_end_date", "paid by the 10th of the next month",
                                   Severity.WARN),
                      between("applied_count", 0, None, "a count", Severity.WARN),
                  ), description="partner receivables per month (the whole table)")


def _control_flags() -> Target:
    return Target("marts", "fct_control_flags", "marts.fct_control_flags",
                  "select * from marts.fct_control_flags where event_date = $run_date", (
                      unique(["event_id", "flag_code"], "one row per event and flag"),
                      in_set("flag_code", [flag.value for flag in ControlFlag], "contracts.reasons.ControlFlag"),
                  ), description="control flags of the events of D")


def targets() -> list[Target]:
    """Every marts target, in Data Docs order."""
    return [_ledger_entries(), _posting_groups(), _balances(), _point_lots(), _settlement_items(),
            _partner_receivables(), _control_flags()]

