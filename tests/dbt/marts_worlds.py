"""Small hand-made raw worlds for the dbt tests: masters plus ledger events, written through rawdb.

A `Ledger` hands out event ids and timestamps so scenarios read like the story they test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

import duckdb
import marts_rawdb as rawdb

MASTER_DATE = date(2024, 1, 1)

# municipality_code -> (settlement_cycle, settlement_day)
MUNICIPALITIES = {
    "131016": ("weekly", "7"),      # 千代田区: weekly, periods end on Sunday
    "141500": ("monthly", "end"),   # 相模原市: monthly, month end
    "242012": ("daily", None),      # 津市: daily
    "011002": ("monthly", "10"),    # 札幌市: monthly on the 10th
}

# program_code -> (municipality_code, kind, funding, expiry, annual cap)
PROGRAMS = {
    "CHY_BEN": ("131016", "benefit", "municipal_budget", "fiscal_year_end:0", 5000),
    "CHY_D30": ("131016", "activity", "municipal_budget", "days:30", None),
    "CHY_D10": ("131016", "health", "municipal_budget", "days:10", None),
    "CHY_PRE": ("131016", "prepaid", "prepaid", "none", None),
    "CHY_CNV": ("131016", "conversion", "partner", "fiscal_year_end:1", None),
    "SGM_BEN": ("141500", "benefit", "municipal_budget", "fiscal_year_end:0", None),
    "SGM_PRE": ("141500", "prepaid", "prepaid", "days:180", None),
    "SGM_D1": ("141500", "health", "municipal_budget", "days:1", None),
    "TSU_BEN": ("242012", "benefit", "municipal_budget", "days:60", 2000),
    "TSU_PRE": ("242012", "prepaid", "prepaid", "none", None),
    "SAP_BEN": ("011002", "benefit", "municipal_budget", "days:20", None),
}

# merchant_id -> status; DESIGNATED: which municipalities each merchant may serve
MERCHANTS = {"M00000001": "active", "M00000002": "active", "M00000003": "suspended", "M00000004": "active"}
DESIGNATED = {
    "M00000001": ("131016", "141500", "242012", "011002"),
    "M00000002": ("131016", "141500", "242012", "011002"),
    "M00000003": ("131016", "141500", "242012", "011002"),
    # M00000004 is designated nowhere
}


def write_masters(con: duckdb.DuckDBPyConnection, snapshot_date: date = MASTER_DATE, *,
                  municipalities: dict | None = None, programs: dict | None = None, merchants: dict | None = None,
                  designated: dict | None = None, designated_from: date = date(2020, 1, 1),
                  only: tuple[str, ...] | None = None) -> None:
    """One full snapshot of every master (or of the raw tables in `only`) on snapshot_date (the module's worlds
    unless given)."""
    municipalities = MUNICIPALITIES if municipalities is None else municipalities
    programs = PROGRAMS if programs is None else programs
    merchants = MERCHANTS if merchants is None else merchants
    designated = DESIGNATED if designated is None else designated

    def insert(table: str, rows: list[dict]) -> None:
        if only is None or table in only:
            rawdb.insert(con, table, rows, snapshot_date)

    insert("master_municipalities", [
        {"municipality_code": code, "name": f"自治体{code}", "name_kana": "ｼﾞﾁﾀｲ", "prefecture": "東京都",
         "settlement_cycle": cycle, "settlement_day": day, "min_payout_yen": 1000, "fee_bearer": "payer",
         "payer_bank_code": "0001", "payer_branch_code": "001", "payer_account_type": "1",
         "payer_account_number": "1234567", "client_code": "0000000001", "client_name_kana": "ｼﾞﾁﾀｲ"}
        for code, (cycle, day) in municipalities.items()])
    insert("master_programs", [
        {"program_code": code, "municipality_code": mun, "name": code, "kind": kind, "funding": funding,
         "expiry": expiry, "annual_cap_per_person": cap}
        for code, (mun, kind, funding, expiry, cap) in programs.items()])
    insert("master_merchants", [
        {"merchant_id": mid, "name": mid, "name_kana": "ﾐｾ", "category": "retail", "channel": "store",
         "bank_code": "0005", "branch_code": "001", "account_type": "1", "account_number": "7654321",
         "account_holder_kana": "ﾐｾ", "status": status}
        for mid, status in merchants.items()])
    insert("master_designations", [
        {"municipality_code": mun, "merchant_id": mid, "valid_from": designated_from, "valid_to": None}
        for mid, muns in designated.items() for mun in muns])
    insert("master_partners", [
        {"partner_code": "CARDCO", "name": "カード", "kind": "credit_card", "encoding": "utf-8",
         "payer_name_kana": "ｶ-ﾄﾞ"},
        {"partner_code": "ACQ1", "name": "アクワイアラ", "kind": "acquirer", "encoding": "utf-8",
         "payer_name_kana": "ｱｸ"}])


@dataclass
class Ledger:
    """Builds platform ledger rows for one municipality and resident at a time."""

    rows: list[dict] = field(default_factory=list)
    prefix: str = "E"

    def _add(self, event_type: str, when: datetime, mun: str, mykey: str, amount: int, **extra) -> str:
        event_id = f"{self.prefix}{len(self.rows) + 1:06d}"
        channel = extra.pop("channel", "batch" if event_type in ("grant", "adjust", "expire") else "terminal")
        self.rows.append({"event_id": event_id, "event_ts": when, "municipality_code": mun, "mykey_id": mykey,
                          "event_type": event_type, "amount": amount, "channel": channel, **extra})
        return event_id

    def grant(self, when: datetime, mun: str, mykey: str, program: str, amount: int, **extra) -> str:
        return self._add("grant", when, mun, mykey, amount, program_code=program, **extra)

    def charge(self, when: datetime, mun: str, mykey: str, program: str, amount: int) -> str:
        return self._add("charge", when, mun, mykey, amount, program_code=program, channel="online",
                         partner_code="ACQ1", payment_ref=f"P{len(self.rows) + 1}")

    def adjust(self, when: datetime, mun: str, mykey: str, program: str, amount: int) -> str:
        return self._add("adjust", when, mun, mykey, amount, program_code=program)

    def use(self, when: datetime, mun: str, mykey: str, amount: int, merchant: str = "M00000001") -> str:
        return self._add("use", when, mun, mykey, amount, merchant_id=merchant, terminal_id="T00000001",
                         auth_id=f"A{len(self.rows) + 1}")

    def cancel(self, when: datetime, mun: str, mykey: str, use_id: str, amount: int,
               merchant: str | None = "M00000001") -> str:
        return self._add("cancel", when, mun, mykey, amount, merchant_id=merchant, terminal_id="T00000001",
                         auth_id=f"A{len(self.rows) + 1}", cancel_of=use_id)

    def platform_expire(self, day: date, mun: str, mykey: str, program: str, lot_id: str, amount: int) -> str:
        return self._add("expire", datetime.combine(day, time(23, 59, 59)), mun, mykey, amount,
                         program_code=program, lot_event_id=lot_id)

    def write(self, con: duckdb.DuckDBPyConnection, up_to: date | None = None,
              from_date: date | None = None) -> int:
        rows = [r for r in self.rows
                if (up_to is None or r["event_ts"].date() <= up_to)
                and (from_date is None or r["event_ts"].date() >= from_date)]
        return rawdb.insert(con, "platform_ledger", rows)


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second))
