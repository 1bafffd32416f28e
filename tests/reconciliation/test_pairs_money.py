"""The money pairs and control checks (reconciliation/rules/*.yml of helper "money") on one tiny hand-made world:
raw rows -> one dbt build -> run_matching with the shipped rules, on several run dates.

Every expected finding below is worked out by hand from the rows written here (the story of each case is told
where its rows are written), not read back from the engine. Four municipalities, each with its own paying
account: A 131016, B 141500, C 242012, D 011002 (masters of tests/dbt/marts_worlds.py otherwise).
Run dates: R10 = 10 June 2024 (May's partner payments still due), R11 = 11 June (past due), and R12 = 12 June,
after the late bank statements (C's of 11 June, D's of 12 June) have been written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))

import marts_rawdb as rawdb  # noqa: E402
from marts_worlds import DESIGNATED, MERCHANTS, Ledger, at, write_masters  # noqa: E402

from contracts.reasons import BreakCode, ControlFlag  # noqa: E402
from reconciliation.engine import run_matching  # noqa: E402
from reconciliation.rules import load_rules  # noqa: E402
from seisan.marts import build_marts  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
A, B, C, D = "131016", "141500", "242012", "011002"
ACCOUNTS = {A: "1000001", B: "1000002", C: "1000003", D: "1000004"}
R10, R11, R12 = dt.date(2024, 6, 10), dt.date(2024, 6, 11), dt.date(2024, 6, 12)
MONEY_PAIRS = ("partner_payments", "acquirer_charges", "acquirer_deposits", "platform_balances", "platform_expiries",
               "control_flags", "control_held_uses", "control_annual_cap")
CARD, ACQ = "ｶ-ﾄﾞ", "ｱｸ"   # payer_name_kana of partner CARDCO and acquirer ACQ1 (marts_worlds)


class Bank:
    """Zengin 03 statements as ingestion writes them to raw.bank_statements / bank_statement_lines: one per
    account and day, each opening with the previous closing balance (so the chain has no gap)."""

    def __init__(self) -> None:
        self.closing = dict.fromkeys(ACCOUNTS.values(), 1_000_000)

    def statement(self, con: duckdb.DuckDBPyConnection, municipality: str, day: dt.date,
                  lines: list[tuple[str, int, str, str]] = ()) -> None:
        """lines: (direction, amount_yen, remitter_name, description)."""
        account = ACCOUNTS[municipality]
        sha = hashlib.sha256(f"{account}/{day}".encode()).hexdigest()
        credits = sum(a for d, a, _, _ in lines if d == "credit")
        debits = sum(a for d, a, _, _ in lines if d == "debit")
        opening = self.closing[account]
        self.closing[account] = opening + credits - debits
        con.execute("insert into raw.bank_statements values "
                    "('0001', '001', '1', ?, 'ｼﾞﾁﾀｲ', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                    [account, day, day, day, opening, sum(d == "credit" for d, *_ in lines), credits,
                     sum(d == "debit" for d, *_ in lines), debits, self.closing[account], sha, day])
        for number, (direction, amount, remitter, description) in enumerate(lines, start=2):
            con.execute("insert into raw.bank_statement_lines values "
                        "('0001', '001', ?, ?, ?, ?, ?, '11', ?, '', ?, '', '', ?, '', ?, ?, ?)",
                        [account, f"{number:08d}", day, day, direction, amount, remitter, description, sha, number,
                         day])


def _masters(con: duckdb.DuckDBPyConnection) -> None:
    """marts_worlds' masters, but every municipality with its own paying account; merchant M00000009 first named
    (and designated for A) by a merchants/designations snapshot of 5 June."""
    write_masters(con, only=("master_programs", "master_merchants", "master_designations", "master_partners"))
    cycles = {A: ("weekly", "7"), B: ("monthly", "end"), C: ("daily", None), D: ("monthly", "10")}
    rawdb.insert(con, "master_municipalities", [
        {"municipality_code": code, "name": f"自治体{code}", "name_kana": "ｼﾞﾁﾀｲ", "prefecture": "東京都",
         "settlement_cycle": cycle, "settlement_day": day, "min_payout_yen": 1000, "fee_bearer": "payer",
         "payer_bank_code": "0001", "payer_branch_code": "001", "payer_account_type": "1",
         "payer_account_number": ACCOUNTS[code], "client_code": "0000000001", "client_name_kana": "ｼﾞﾁﾀｲ"}
        for code, (cycle, day) in cycles.items()], dt.date(2024, 1, 1))
    write_masters(con, dt.date(2024, 6, 5), merchants={**MERCHANTS, "M00000009": "active"},
                  designated={**DESIGNATED, "M00000009": (A,)}, only=("master_merchants", "master_designations"))


def _conversions(con: duckdb.DuckDBPyConnection) -> None:
    """CARDCO owes A 500 for April (paid 700 in one transfer: over), A 1,000 for May (paid exactly), B 2,000
    (paid 1,500: short), C 800 (paid 800 twice: double), D 600 (paid late, on 12 June)."""
    owed = [(A, dt.date(2024, 4, 20), 500), (A, dt.date(2024, 5, 20), 1000), (B, dt.date(2024, 5, 20), 2000),
            (C, dt.date(2024, 5, 21), 800), (D, dt.date(2024, 5, 22), 600)]
    rawdb.insert(con, "partner_conversion", [
        {"partner_txn_id": f"CV{i}", "txn_ts": at(day), "mykey_id": "CONV0001", "municipality_code": code,
         "partner_points": amount, "municipal_points": amount, "amount_due_yen": amount, "status": "applied",
         "partner_code": "CARDCO"} for i, (code, day, amount) in enumerate(owed)])


def _acquirer(con: duckdb.DuckDBPyConnection, ledger: Ledger, refs: dict[str, str]) -> None:
    """Charges and ACQ1's settlement lines (fee 2.5 %). Deposits due 5 June: A 975 + 1,950 (paid 2,925), B 2,925
    (paid 2,900); due 3 June: B 975, before B's first statement (4 June), so unknown and pending for good; due 11
    June: C 975 (its statement of 11 June comes late). Due 1 July (not yet due on any run
    date): a line with no charge (P999, A), a line of 5,000 whose charge says 4,000 (C); and a charge of 400 in B
    that no line lists."""
    def charge(code: str, day: dt.date, amount: int, program: str, name: str) -> None:
        ledger.charge(at(day, 9), code, f"ACQR{len(refs):04d}", program, amount)
        refs[name] = ledger.rows[-1]["payment_ref"]

    charge(A, dt.date(2024, 6, 3), 1000, "CHY_PRE", "a1")
    charge(A, dt.date(2024, 6, 3), 2000, "CHY_PRE", "a2")
    charge(B, dt.date(2024, 6, 3), 3000, "SGM_PRE", "b1")
    charge(C, dt.date(2024, 6, 6), 1000, "TSU_PRE", "c1")
    charge(C, dt.date(2024, 6, 3), 4000, "TSU_PRE", "c_amount")
    charge(B, dt.date(2024, 6, 3), 400, "SGM_PRE", "b_no_line")
    charge(B, dt.date(2024, 6, 1), 1000, "SGM_PRE", "b_early")
    lines = [(refs["a1"], A, 1000, 25, dt.date(2024, 6, 5)), (refs["a2"], A, 2000, 50, dt.date(2024, 6, 5)),
             (refs["b1"], B, 3000, 75, dt.date(2024, 6, 5)), (refs["c1"], C, 1000, 25, dt.date(2024, 6, 11)),
             ("P999", A, 100, 2, dt.date(2024, 7, 1)), (refs["c_amount"], C, 5000, 125, dt.date(2024, 7, 1)),
             (refs["b_early"], B, 1000, 25, dt.date(2024, 6, 3))]
    charged = {refs["c1"]: dt.date(2024, 6, 6), refs["b_early"]: dt.date(2024, 6, 1)}
    rawdb.insert(con, "partner_settlement", [
        {"payment_ref": ref, "charged_at": at(charged.get(ref, dt.date(2024, 6, 3)), 9),
         "municipality_code": code, "amount": amount, "fee": fee, "net": amount - fee, "deposit_date": deposit,
         "partner_code": "ACQ1"} for ref, code, amount, fee, deposit in lines])


def _balances_and_expiries(con: duckdb.DuckDBPyConnection, ledger: Ledger, ids: dict[str, str]) -> None:
    """D (SAP_BEN, days:20). Balances: X 1,000 granted 1 June, 300 spent 3 June -> 700; Y 500 granted 1 June.
    The platform reports 3 June: X 700, Y 500 (agree); 4 June: X 710 (drift 10), Y missing, Z 200 (seisan has
    no Z). Expiries: W 100 granted 1 May, both expire it 21 May; V 200 (2 May): the platform expires only 150 on
    22 May; U 300 (3 May): the platform never expires it (23 May); T 400 (4 May): the platform expires it on 20
    May, seisan on 24 May. Lots expired in May hold no platform balance row and are not compared. An expiry on a
    day whose platform ledger has not arrived stays pending: S's 50 (B, SGM_D1) on 9 June."""
    ledger.grant(at(dt.date(2024, 6, 1), 3), D, "BALX0001", "SAP_BEN", 1000)
    ledger.grant(at(dt.date(2024, 6, 1), 3), D, "BALY0001", "SAP_BEN", 500)
    ledger.use(at(dt.date(2024, 6, 3), 10), D, "BALX0001", 300, "M00000001")
    for name, day, amount in (("W", 1, 100), ("V", 2, 200), ("U", 3, 300), ("T", 4, 400)):
        ids[name] = ledger.grant(at(dt.date(2024, 5, day), 3), D, f"EXP{name}0001", "SAP_BEN", amount)
    ledger.platform_expire(dt.date(2024, 5, 21), D, "EXPW0001", "SAP_BEN", ids["W"], 100)
    ledger.platform_expire(dt.date(2024, 5, 22), D, "EXPV0001", "SAP_BEN", ids["V"], 150)
    ledger.platform_expire(dt.date(2024, 5, 20), D, "EXPT0001", "SAP_BEN", ids["T"], 400)
    # the platform's ledger of 23 and 24 May has arrived (an expire event can only be missing from a ledger that did)
    for day in (23, 24):
        ledger.grant(at(dt.date(2024, 5, day), 3), B, "DAYS0001", "SGM_BEN", 10)
    # S (B, SGM_D1, days:1): 50 granted 8 June expire on 9 June, a day whose platform ledger never arrives here
    ids["S"] = ledger.grant(at(dt.date(2024, 6, 8), 3), B, "EXPS0001", "SGM_D1", 50)
    reported = [(dt.date(2024, 6, 3), "BALX0001", 700), (dt.date(2024, 6, 3), "BALY0001", 500),
                (dt.date(2024, 6, 4), "BALX0001", 710), (dt.date(2024, 6, 4), "BALZ0001", 200)]
    rawdb.insert(con, "platform_balances", [
        {"municipality_code": D, "program_code": "SAP_BEN", "mykey_id": key, "balance": balance, "business_date": day}
        for day, key, balance in reported])


def _controls(ledger: Ledger, ids: dict[str, str]) -> None:
    """A (CHY_BEN 5,000 = its cap, reached exactly): uses at an unknown merchant (M00000099: merchant_unknown),
    at M00000009 (unknown on 3 June, named by the 5 June snapshot: resolved, no finding), at suspended M00000003
    (inactive) and at M00000004 (designated nowhere); use 500 cancelled 300 then 400 (the second exceeds by 200);
    use 400 at M00000002 whose cancel of 100 names M00000001. C (TSU_BEN, cap 2,000): CAPA0001 granted 1,500
    then 1,000 (500 over the cap); CAPB0001 granted 2,000 (the cap exactly: allowed)."""
    ledger.grant(at(dt.date(2024, 6, 1), 3), A, "CTRL0001", "CHY_BEN", 5000)
    day3, day4, day5 = dt.date(2024, 6, 3), dt.date(2024, 6, 4), dt.date(2024, 6, 5)
    ids["unknown"] = ledger.use(at(day3, 10), A, "CTRL0001", 100, "M00000099")
    ids["named_later"] = ledger.use(at(day3, 11), A, "CTRL0001", 100, "M00000009")
    ids["inactive"] = ledger.use(at(day3, 12), A, "CTRL0001", 200, "M00000003")
    ids["undesignated"] = ledger.use(at(day3, 13), A, "CTRL0001", 250, "M00000004")
    ids["exceeded_use"] = ledger.use(at(day3, 14), A, "CTRL0001", 500, "M00000001")
    ledger.cancel(at(day4, 10), A, "CTRL0001", ids["exceeded_use"], 300, "M00000001")
    ids["exceeds"] = ledger.cancel(at(day5, 10), A, "CTRL0001", ids["exceeded_use"], 400, "M00000001")
    use = ledger.use(at(day3, 15), A, "CTRL0001", 400, "M00000002")
    ids["mismatch"] = ledger.cancel(at(day4, 11), A, "CTRL0001", use, 100, "M00000001")
    ledger.grant(at(dt.date(2024, 6, 1), 3), C, "CAPA0001", "TSU_BEN", 1500)
    ids["over_cap"] = ledger.grant(at(dt.date(2024, 6, 2), 3), C, "CAPA0001", "TSU_BEN", 1000)
    ledger.grant(at(dt.date(2024, 6, 1), 3), C, "CAPB0001", "TSU_BEN", 2000)


def _statements(con: duckdb.DuckDBPyConnection, bank: Bank) -> None:
    """Every account's statements up to 10 or 11 June (C's and D's later ones come in `_late_statements`).
    Besides partner and acquirer deposits: interest (ﾘｿｸ) in A and an unrelated transfer from ｹﾝﾁﾖｳ in B, and a
    withdrawal in D: listed, never matched, never a break."""
    bank.statement(con, A, dt.date(2024, 5, 7), [("credit", 700, CARD, "")])
    bank.statement(con, A, dt.date(2024, 6, 3), [("credit", 15, "", "ﾘｿｸ")])
    bank.statement(con, A, dt.date(2024, 6, 5), [("credit", 1000, CARD, ""), ("credit", 2925, ACQ, "")])
    bank.statement(con, B, dt.date(2024, 6, 4), [("credit", 50000, "ｹﾝﾁﾖｳ", "ﾎｼﾞﾖｷﾝ")])
    bank.statement(con, B, dt.date(2024, 6, 5), [("credit", 1500, CARD, ""), ("credit", 2900, ACQ, "")])
    bank.statement(con, C, dt.date(2024, 6, 5), [("credit", 800, CARD, ""), ("credit", 800, CARD, "")])
    bank.statement(con, D, dt.date(2024, 5, 31))   # D's statements are known from before May's payment window
    bank.statement(con, D, dt.date(2024, 6, 5), [("debit", 3000, "", "ﾃﾞﾝｷﾘﾖｳ")])
    for code in (A, B, C, D):
        bank.statement(con, code, R10)
    for code in (A, B, D):
        bank.statement(con, code, R11)


def _late_statements(con: duckdb.DuckDBPyConnection, bank: Bank) -> None:
    """C's statement of 11 June with the acquirer's 975; D's of 12 June with CARDCO's late 600 for May."""
    bank.statement(con, C, R11, [("credit", 975, ACQ, "")])
    bank.statement(con, D, R12, [("credit", 600, CARD, "")])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("money")
    path = folder / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    rawdb.create_raw_schema(con)
    _masters(con)
    ledger, ids, refs, bank = Ledger(prefix="E"), {}, {}, Bank()
    _conversions(con)
    _acquirer(con, ledger, refs)
    _balances_and_expiries(con, ledger, ids)
    _controls(ledger, ids)
    ledger.write(con)
    _statements(con, bank)
    con.close()
    build_marts(path, R11)
    con = duckdb.connect(str(path))
    runs = {day: _findings(con, day) for day in (R10, R11)}
    lineage = dict(((code, side), text) for code, side, text in con.execute(
        "select break_code, 'left', left_lineage from recon.findings where run_date = ? and pair = 'platform_balances' "
        "union all select break_code, 'right', right_lineage from recon.findings where run_date = ? "
        "and pair = 'platform_balances'", [R11, R11]).fetchall())
    _late_statements(con, bank)   # raw rows only: the side models are views, so no rebuild is needed
    runs[R12] = _findings(con, R12)
    con.close()
    return {"runs": runs, "ids": ids, "refs": refs, "balance_lineage": lineage}


def _findings(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict[str, set[tuple]]:
    """pair -> {(break_code, status, left_key, right_key, expected, actual, amount_at_risk_yen, pending_until)},
    plus pair + '/ids' -> {(break_code, left_key, right_key, break_id)}."""
    run_matching(con, day)
    rows = con.execute("select pair, break_code, status, left_key, right_key, expected, actual, amount_at_risk_yen, "
                       "pending_until, break_id from recon.findings where run_date = ?", [day]).fetchall()
    result: dict[str, set[tuple]] = {}
    for pair, *finding, break_id in rows:
        result.setdefault(pair, set()).add(tuple(finding))
        result.setdefault(pair + "/ids", set()).add((finding[0], finding[2], finding[3], break_id))
    return result


def _of(world: dict, day: dt.date, pair: str) -> set[tuple]:
    return world["runs"][day].get(pair, set())


def test_partner_payments_short_double_over_exact_and_late(world: dict) -> None:
    may = "2024-05-01"
    short = ("partner_short_payment", "break", f"CARDCO|{B}|{may}", f"CARDCO|{B}|{may}", "2000", "1500", 500, None)
    double = ("partner_double_payment", "break", f"CARDCO|{C}|{may}", f"CARDCO|{C}|{may}", "800", "1600", 800, None)
    over = ("partner_overpayment", "break", f"CARDCO|{A}|2024-04-01", f"CARDCO|{A}|2024-04-01", "500", "700", 200,
            None)
    late_pending = ("partner_payment_missing", "pending", f"CARDCO|{D}|{may}", None, "600", "0", 600, R10)
    late_break = ("partner_payment_missing", "break", f"CARDCO|{D}|{may}", None, "600", "0", 600, None)
    # A's May (1,000 paid exactly) never appears; D's 600 is pending through the due date, a break after it,
    # and gone once the late deposit is on a statement
    assert _of(world, R10, "partner_payments") == {short, double, over, late_pending}
    assert _of(world, R11, "partner_payments") == {short, double, over, late_break}
    assert _of(world, R12, "partner_payments") == {short, double, over}


def test_acquirer_lines_against_charges(world: dict) -> None:
    refs = world["refs"]
    expected = {
        ("acquirer_line_missing_charge", "break", "P999", None, "100", None, 100, None),
        ("charge_missing_in_acquirer", "break", None, refs["b_no_line"], None, "400", 400, None),
        ("acquirer_amount_mismatch", "break", refs["c_amount"], refs["c_amount"], "5000", "4000", 1000, None),
    }
    assert _of(world, R11, "acquirer_charges") == expected


def test_acquirer_deposits_against_net_per_municipality_and_date(world: dict) -> None:
    mismatch = ("acquirer_net_mismatch", "break", f"ACQ1|{B}|2024-06-05", f"ACQ1|{B}|2024-06-05", "2925", "2900",
                25, None)
    before_first = ("acquirer_deposit_missing", "pending", f"ACQ1|{B}|2024-06-03", None, "975", None, 975, None)
    # C's 975 is due 11 June: not in scope on 10 June, pending on the 11th (its statement has not come), matched
    # on the 12th; A's 2,925 matches; the lines due 1 July are not due on any run date; B's 975 due before its
    # first statement stays pending, its window long past
    assert _of(world, R10, "acquirer_deposits") == {mismatch, before_first}
    assert _of(world, R11, "acquirer_deposits") == {
        mismatch, before_first,
        ("acquirer_deposit_missing", "pending", f"ACQ1|{C}|2024-06-11", None, "975", None, 975, R11)}
    assert _of(world, R12, "acquirer_deposits") == {mismatch, before_first}


def test_balances_drift_missing_and_unexpected(world: dict) -> None:
    key = f"2024-06-04|{D}|SAP_BEN|"
    assert _of(world, R11, "platform_balances") == {
        ("balance_drift", "break", key + "BALX0001", key + "BALX0001", "700", "710", 10, None),
        ("balance_missing_in_platform", "break", key + "BALY0001", None, "500", None, 500, None),
        ("balance_unexpected_in_platform", "break", None, key + "BALZ0001", None, "200", 200, None),
    }


def test_recomputed_side_has_no_lineage_and_the_platform_side_its_line(world: dict) -> None:
    lineage = world["balance_lineage"]
    assert lineage[("balance_missing_in_platform", "left")] == "[]"          # seisan's own balance: no source line
    assert lineage[("balance_missing_in_platform", "right")] == "[]"         # no platform row
    assert '"line_number"' in lineage[("balance_unexpected_in_platform", "right")]


def test_expiries_both_ways(world: dict) -> None:
    ids = world["ids"]
    assert _of(world, R11, "platform_expiries") == {
        ("expiry_amount_mismatch", "break", f"{ids['V']}|2024-05-22", f"{ids['V']}|2024-05-22", "200", "150", 50,
         None),
        ("expiry_missing_in_platform", "break", f"{ids['U']}|2024-05-23", None, "300", None, 300, None),
        ("expiry_missing_in_platform", "break", f"{ids['T']}|2024-05-24", None, "400", None, 400, None),
        ("expiry_unexpected_in_platform", "break", None, f"{ids['T']}|2024-05-20", None, "400", 400, None),
        ("expiry_missing_in_platform", "pending", f"{ids['S']}|2024-06-09", None, "50", None, 50, None),
    }


def test_control_breaks(world: dict) -> None:
    ids = world["ids"]
    assert _of(world, R11, "control_flags") == {
        ("merchant_unknown", "break", f"{ids['unknown']}|merchant_unknown", None,
         "known in the master in force on 2024-06-03", "M00000099", 100, None),
        ("cancel_exceeds_use", "break", f"{ids['exceeds']}|cancel_exceeds_use", None,
         f"at most what use {ids['exceeded_use']} still holds", "excess 200", 200, None),
        ("cancel_merchant_mismatch", "break", f"{ids['mismatch']}|cancel_merchant_mismatch", None,
         "the merchant of its use", "M00000001", 100, None),
    }
    assert _of(world, R11, "control_held_uses") == {
        ("use_at_inactive_merchant", "break", ids["inactive"], None, "active on 2024-06-03", "M00000003 suspended",
         200, None),
        ("use_at_undesignated_merchant", "break", ids["undesignated"], None, f"designated for {A} on 2024-06-03",
         "M00000004 not designated", 250, None),
    }
    assert _of(world, R11, "control_annual_cap") == {
        ("grant_over_annual_cap", "break", ids["over_cap"], None, "at most 2000 in fiscal year 2024", "2500", 500,
         None)}


def test_bank_lines_of_no_partner_are_never_findings(world: dict) -> None:
    # interest (15), the prefecture's transfer (50,000) and the withdrawal (3,000) appear in no finding: every
    # money finding is listed in the tests above, so here only that no amount of theirs shows up anywhere
    for day in (R10, R11, R12):
        for pair in MONEY_PAIRS:
            amounts = {f[6] for f in _of(world, day, pair)}
            assert not amounts & {15, 50000, 3000}, (day, pair)


def test_break_ids_are_stable_across_run_dates(world: dict) -> None:
    # a finding seen on 10, 11 and 12 June keeps its break_id (pair|code|left_key|right_key, not the run date)
    for pair in MONEY_PAIRS:
        ids = [{row[:3]: row[3] for row in _of(world, day, pair + "/ids")} for day in (R10, R11, R12)]
        for finding in set(ids[0]) & set(ids[1]) & set(ids[2]):
            assert ids[0][finding] == ids[1][finding] == ids[2][finding], (pair, finding)
    assert _of(world, R11, "control_flags/ids")  # the comparison above saw findings


def test_money_rules_load_and_every_code_is_documented() -> None:
    rules = {rule.pair: rule for rule in load_rules()}
    assert set(MONEY_PAIRS) <= set(rules)
    formats = (REPO / "docs" / "formats.md").read_text(encoding="utf-8")
    for pair in MONEY_PAIRS:
        rule = rules[pair]
        codes = [c.break_code for c in rule.compare] + [o.break_code for o in (rule.left_orphan, rule.right_orphan)
                                                         if o] + ([rule.break_code] if rule.break_code else [])
        for code in codes:
            assert code in set(BreakCode) and f"`{code}`" in formats, code
    # every control flag of the marts is a break code of the same name (rule control_flags reads them as such)
    assert {flag.value for flag in ControlFlag} <= {code.value for code in BreakCode}
    model = (REPO / "dbt/models/reconciliation/rec_partner__payment_checks.sql").read_text(encoding="utf-8")
    for code in set(re.findall(r"'(partner_[a-z_]+)' as break_code", model)):
        assert code in set(BreakCode) and f"`{code}`" in formats, code
