"""Reading the masters in force from the raw tables: the referential lookup, partner encodings, terminal keys.

"In force on D" = the newest snapshot on or before D (FORMATS.md, Inbox layout), decided by the one Python
helper `contracts.in_force.snapshot_in_force`: this module reads a master's snapshot dates, asks the helper,
then reads that snapshot's rows. Read-only.

`MastersInForce` caches one in-force snapshot per date for the length of a run, so that hundreds of terminal
and partner files cost one query per distinct date instead of one per file. Its answers are those of
`rows_in_force`; the caller must `forget()` it when master rows are committed. (Ingestion creates no SQL
logic in `raw`: dbt's macro `in_force` is the rule for the marts.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from contracts.in_force import snapshot_in_force
from contracts.validation import InMemoryMasters

REFERENCED_MASTERS = {
    "municipalities": "municipality_code",
    "merchants": "merchant_id",
    "partners": "partner_code",
}
CACHED_MASTER_TABLES = frozenset(("master_terminals", "master_partners"))


def rows_in_force(con: duckdb.DuckDBPyConnection, table: str, columns: str, on: dt.date,
                  order_by: str = "") -> list[tuple]:
    """The rows of master `table` (e.g. `master_partners`) in force on `on`: its newest snapshot on or before
    `on` (FORMATS.md, Inbox layout); none before its first snapshot."""
    dates = [day for (day,) in con.execute(f"SELECT DISTINCT business_date FROM raw.{table} ORDER BY 1").fetchall()]
    return rows_of_snapshot(con, table, columns, snapshot_in_force(dates, on), order_by)


def rows_of_snapshot(con: duckdb.DuckDBPyConnection, table: str, columns: str, snapshot: dt.date | None,
                     order_by: str = "") -> list[tuple]:
    """The rows of master `table`'s snapshot of date `snapshot` (none for None)."""
    if snapshot is None:
        return []
    order = f" ORDER BY {order_by}" if order_by else ""
    return con.execute(f"SELECT {columns} FROM raw.{table} WHERE business_date = ?{order}", [snapshot]).fetchall()


def load_masters(con: duckdb.DuckDBPyConnection) -> InMemoryMasters:
    """Every loaded snapshot of the masters that rows refer to (municipalities, merchants, partners): the ids
    of its loaded rows plus those of its quarantined rows whose id had a valid shape (quarantine.master_id)."""
    masters = InMemoryMasters()
    for master, key in REFERENCED_MASTERS.items():
        rows = con.execute(
            f"SELECT business_date, list({key}) FROM raw.master_{master} GROUP BY business_date"
        ).fetchall()
        known = dict(
            con.execute(
                "SELECT business_date, list(master_id) FROM raw.quarantine WHERE kind = ? "
                f"AND master_id IS NOT NULL AND file_sha256 IN (SELECT file_sha256 FROM raw.master_{master}) "
                "GROUP BY business_date",
                [f"master_{master}"],
            ).fetchall()
        )
        for snapshot_date, keys in rows:
            masters.add_snapshot(master, snapshot_date, [*keys, *known.get(snapshot_date, [])])
    return masters


@dataclass(frozen=True, slots=True)
class _TerminalRow:
    public_key: str
    active_from: dt.date
    active_to: dt.date | None


@dataclass(slots=True)
class MastersInForce:
    """Partner encodings and terminal keys of the committed masters in force on a date, one query per
    (master, date) per run."""

    con: duckdb.DuckDBPyConnection
    _terminals: dict[dt.date, dict[str, list[_TerminalRow]]] = field(default_factory=dict)
    _partners: dict[dt.date, dict[str, str]] = field(default_factory=dict)
    _snapshot_dates: dict[str, list[dt.date]] = field(default_factory=dict)

    def forget(self) -> None:
        """Drop every cached snapshot (after master rows were committed)."""
        self._terminals.clear()
        self._partners.clear()
        self._snapshot_dates.clear()

    def snapshot_on(self, table: str, on: dt.date) -> dt.date | None:
        """The business_date of raw.`table`'s snapshot in force on `on` (None: no snapshot yet)."""
        if table not in self._snapshot_dates:
            rows = self.con.execute(f"SELECT DISTINCT business_date FROM raw.{table} ORDER BY 1").fetchall()
            self._snapshot_dates[table] = [day for (day,) in rows]
        return snapshot_in_force(self._snapshot_dates[table], on)

    def partner_encoding(self, partner_code: str, on: dt.date) -> str | None:
        """The partner's file encoding per its master row in force on `on`; None for an unknown partner."""
        if on not in self._partners:
            snapshot = self.snapshot_on("master_partners", on)
            self._partners[on] = dict(rows_of_snapshot(self.con, "master_partners", "partner_code, encoding", snapshot))
        return self._partners[on].get(partner_code)

    def terminal_key(self, terminal_id: str, on: dt.date) -> str | None:
        """The terminal's base64 Ed25519 public key from the terminals master in force on `on`, whose
        active_from..active_to holds `on` (the latest active_from wins); None when there is none."""
        if on not in self._terminals:
            by_terminal: dict[str, list[_TerminalRow]] = {}
            snapshot = self.snapshot_on("master_terminals", on)
            rows = rows_of_snapshot(self.con, "master_terminals", "terminal_id, public_key, active_from, active_to",
                                    snapshot, order_by="active_from DESC")
            for terminal, key, active_from, active_to in rows:
                by_terminal.setdefault(terminal, []).append(_TerminalRow(key, active_from, active_to))
            self._terminals[on] = by_terminal
        for row in self._terminals[on].get(terminal_id, ()):
            if row.active_from <= on and (row.active_to is None or row.active_to >= on):
                return row.public_key
        return None
