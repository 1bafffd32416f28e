"""Reading the masters in force from the raw tables: the referential lookup, partner encodings, terminal keys.

"In force on D" = the newest snapshot on or before D (FORMATS.md, Inbox layout). Read-only.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from contracts.validation import InMemoryMasters

REFERENCED_MASTERS = {
    "municipalities": "municipality_code",
    "merchants": "merchant_id",
    "partners": "partner_code",
}


def load_masters(con: duckdb.DuckDBPyConnection) -> InMemoryMasters:
    """Every loaded snapshot of the masters that rows refer to (municipalities, merchants, partners)."""
    masters = InMemoryMasters()
    for master, key in REFERENCED_MASTERS.items():
        rows = con.execute(
            f"SELECT business_date, list({key}) FROM raw.master_{master} GROUP BY business_date"
        ).fetchall()
        for snapshot_date, keys in rows:
            masters.add_snapshot(master, snapshot_date, keys)
    return masters


def partner_encoding(con: duckdb.DuckDBPyConnection, partner_code: str, on: dt.date) -> str | None:
    """The partner's file encoding per its master row in force on `on`; None for an unknown partner."""
    row = con.execute(
        "SELECT encoding FROM raw.master_partners_in_force(?) WHERE partner_code = ?", [on, partner_code]
    ).fetchall()
    return row[0][0] if row else None


def terminal_key(con: duckdb.DuckDBPyConnection, terminal_id: str, on: dt.date) -> str | None:
    """The terminal's base64 Ed25519 public key from the terminals master in force on `on`, whose
    active_from..active_to holds `on`; None when there is none."""
    row = con.execute(
        "SELECT public_key FROM raw.master_terminals_in_force(?) WHERE terminal_id = ? AND active_from <= ? "
        "AND (active_to IS NULL OR active_to >= ?) ORDER BY active_from DESC LIMIT 1",
        [on, terminal_id, on, on],
    ).fetchall()
    return row[0][0] if row else None
