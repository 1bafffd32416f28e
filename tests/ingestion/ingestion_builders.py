"""Hand-made inbox files for the ingestion tests: a tiny world (one municipality, merchant, partner, terminal,
resident with a card certificate) and writers for each file kind. Independent of the simulator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from contracts import terminal_log
from contracts.codes import municipality_check_digit
from contracts.csvio import csv_bytes
from contracts.schemas import CSV_KINDS_BY_NAME
from ingestion import IngestSummary, Limits, ingest
from simulator.jpki_ca import SimulatedCA
from simulator.keys import ed25519_key, rsa_key

D = dt.date(2026, 11, 25)
MASTER_DATE = dt.date(2026, 11, 1)
MUNI = "13101" + municipality_check_digit("13101")
OTHER_MUNI = "27100" + municipality_check_digit("27100")  # valid code, never in the master
MERCHANT = "M00000001"
TERMINAL = "T00000001"
PARTNER = "ACME"
SJIS_PARTNER = "SJIS"
MYKEY = "resident01"
CERT_SERIAL = 0x1A2B
TERMINAL_KEY = ed25519_key("tests/ingestion/terminal")


def merchant_row(merchant_id: str = MERCHANT, **changes: str) -> dict[str, str]:
    """A valid merchants master row, with `changes` applied."""
    row = dict(merchant_id=merchant_id, name="八百屋", name_kana="ﾔｵﾔ", category="food", channel="store",
               bank_code="0001", branch_code="002", account_type="1", account_number="7654321",
               account_holder_kana="ﾔｵﾔ", status="active")
    return {**row, **changes}


def sale_row(**changes: str) -> dict[str, str]:
    """A valid partner sales row (a captured online order at MERCHANT), with `changes` applied."""
    row = dict(order_id="O1", order_ts="2026-11-25T12:00:00+09:00", mykey_id=MYKEY, municipality_code=MUNI,
               merchant_id=MERCHANT, points_used="300", status="captured")
    return {**row, **changes}
CARD_KEY = rsa_key("tests/ingestion/card", 1024)
CA = SimulatedCA.create("tests-ingestion")
CERT = CA.issue(CERT_SERIAL, CARD_KEY.public_key(), dt.date(2026, 1, 1), dt.date(2030, 12, 31))
A_MY_NUMBER = "123456789018"  # passes the My Number check digit (codes.md §2.1 example)


def ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def write(inbox: Path, rel: str, data: bytes) -> Path:
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def csv_of(kind_name: str, rows: list[dict[str, Any]], **options: Any) -> bytes:
    return csv_bytes(CSV_KINDS_BY_NAME[kind_name].column_names, rows, **options)


def municipality_row(**changes: Any) -> dict[str, Any]:
    row = dict(
        municipality_code=MUNI,
        name="千代田区",
        name_kana="ﾁﾖﾀﾞｸ",
        prefecture="東京都",
        settlement_cycle="monthly",
        settlement_day="end",
        min_payout_yen="1000",
        fee_bearer="payer",
        payer_bank_code="0001",
        payer_branch_code="001",
        payer_account_type="1",
        payer_account_number="1234567",
        client_code="1234567890",
        client_name_kana="ﾁﾖﾀﾞｸ",
    )
    return {**row, **changes}


def write_masters(inbox: Path, day: dt.date = MASTER_DATE) -> None:
    d = ymd(day)
    write(inbox, f"master/municipalities_{d}.csv", csv_of("master_municipalities", [municipality_row()]))
    write(
        inbox,
        f"master/merchants_{d}.csv",
        csv_of(
            "master_merchants",
            [merchant_row(MERCHANT)],
        ),
    )
    write(
        inbox,
        f"master/partners_{d}.csv",
        csv_of(
            "master_partners",
            [
                dict(
                    partner_code=PARTNER, name="Acme", kind="airline", encoding="utf-8", payer_name_kana="ｱｸﾒ"
                ),
                dict(
                    partner_code=SJIS_PARTNER,
                    name="エスジス",
                    kind="retail",
                    encoding="cp932",
                    payer_name_kana="ｴｽ",
                ),
            ],
        ),
    )
    write(
        inbox,
        f"master/terminals_{d}.csv",
        csv_of(
            "master_terminals",
            [
                dict(
                    terminal_id=TERMINAL,
                    merchant_id=MERCHANT,
                    public_key=terminal_log.terminal_public_key_b64(TERMINAL_KEY),
                    active_from="2026-01-01",
                    active_to="",
                )
            ],
        ),
    )


def ledger_row(event_id: str, day: dt.date = D, /, **changes: Any) -> dict[str, Any]:
    row = dict(
        event_id=event_id,
        event_ts=f"{day.isoformat()}T10:15:03+09:00",
        municipality_code=MUNI,
        program_code="P1",
        mykey_id=MYKEY,
        event_type="grant",
        amount="500",
        channel="batch",
    )
    return {**row, **changes}


def write_ledger(inbox: Path, rows: list[dict[str, Any]], day: dt.date = D, **options: Any) -> Path:
    return write(inbox, f"platform/ledger_{ymd(day)}.csv", csv_of("platform_ledger", rows, **options))


def cert_row(
    event: str = "registered",
    serial: int = CERT_SERIAL,
    ts: str = "2026-11-02T09:00:00+09:00",
    previous: str = "",
    der: bytes | None = None,
) -> dict[str, Any]:
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    der_bytes = der if der is not None else CERT.public_bytes(Encoding.DER)
    return dict(
        mykey_id=MYKEY,
        cert_serial=f"{serial:x}",
        cert_der=base64.b64encode(der_bytes).decode(),
        event=event,
        previous_serial=previous,
        event_ts=ts,
    )


def write_certs(inbox: Path, rows: list[dict[str, Any]], day: dt.date = dt.date(2026, 11, 2)) -> Path:
    return write(inbox, f"platform/mykey_certs_{ymd(day)}.csv", csv_of("platform_mykey_certs", rows))


def terminal_records(
    first_seq: int,
    count: int,
    prev_hash: str,
    day: dt.date = D,
    card_key: Any = CARD_KEY,
    serial: int = CERT_SERIAL,
) -> list[dict[str, Any]]:
    """`count` signed use records from `first_seq`, chained from `prev_hash`, then a signed seal."""
    records: list[dict[str, Any]] = []
    previous = prev_hash
    for seq in range(first_seq, first_seq + count):
        record: dict[str, Any] = {
            "v": 1,
            "type": "use",
            "terminal_id": TERMINAL,
            "seq": seq,
            "ts": f"{day.isoformat()}T11:00:{seq % 60:02d}+09:00",
            "merchant_id": MERCHANT,
            "municipality_code": MUNI,
            "mykey_id": MYKEY,
            "amount": 100 + seq,
            "auth_id": f"A{seq}",
            "card_cert_serial": f"{serial:x}",
            "prev_hash": previous,
        }
        record["card_sig"] = terminal_log.sign_card_message_with_key(card_key, record)
        terminal_log.finish_record(record)
        records.append(record)
        previous = record["hash"]
    seal_seq = first_seq + count
    records.append(
        terminal_log.make_seal(
            TERMINAL, seal_seq, f"{day.isoformat()}T20:00:00+09:00", count, previous, TERMINAL_KEY
        )
    )
    return records


def resign_terminal_records(records: list[dict[str, Any]], card_key: Any = CARD_KEY) -> list[dict[str, Any]]:
    """The same uses/cancels (after edits to their fields) signed, hashed and chained again from the first
    record's prev_hash, ending with a fresh seal: a valid file carrying whatever values the edits put in."""
    previous = records[0]["prev_hash"]
    body = [dict(r) for r in records if r["type"] != "seal"]
    for record in body:
        record.pop("hash", None)
        record["prev_hash"] = previous
        record["card_sig"] = terminal_log.sign_card_message_with_key(card_key, record)
        terminal_log.finish_record(record)
        previous = record["hash"]
    seal_seq = body[-1]["seq"] + 1 if body else records[0]["seq"]
    seal = terminal_log.make_seal(TERMINAL, seal_seq, f"{D.isoformat()}T20:00:00+09:00", len(body), previous,
                                  TERMINAL_KEY)
    return [*body, seal]


def terminal_bytes(records: list[dict[str, Any]]) -> bytes:
    return b"".join(terminal_log.dump_line(r) for r in records)


def write_terminal(inbox: Path, records: list[dict[str, Any]], upload: int, day: dt.date = D) -> Path:
    return write(
        inbox, f"terminal/{TERMINAL}/{TERMINAL}_{ymd(day)}_{upload:04d}.jsonl", terminal_bytes(records)
    )


def run(
    con: duckdb.DuckDBPyConnection, tmp: Path, day: dt.date = D, limits: Limits | None = None
) -> IngestSummary:
    return ingest(con, tmp / "inbox", tmp / "raw", day, limits or Limits())


def manifest(con: duckdb.DuckDBPyConnection, path: str) -> dict[str, Any]:
    rows = con.execute(
        "SELECT status, rows_read, rows_loaded, rows_quarantined, reason_code FROM raw.file_manifest "
        "WHERE path = ? ORDER BY ingested_at",
        [path],
    ).fetchall()
    assert rows, f"{path} not in the manifest"
    status, read, loaded, quarantined, reason = rows[-1]
    return dict(
        status=status, read=read, loaded=loaded, quarantined=quarantined, reason=reason, count=len(rows)
    )


def quarantine(con: duckdb.DuckDBPyConnection, path: str) -> list[tuple[int, str]]:
    return con.execute(
        "SELECT line_number, reason_code FROM raw.quarantine WHERE path = ? ORDER BY line_number", [path]
    ).fetchall()


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    return con.execute(f"SELECT * FROM raw.{table} ORDER BY ALL").fetchall()


def accounting_holds(con: duckdb.DuckDBPyConnection) -> bool:
    """Every manifest row (one evaluation of a file, or a release of its quarantined rows): rows_read =
    rows_loaded + rows_quarantined - rows_released, and the quarantine rows (line > 0) of that evaluation (same
    file, path and ingested_at) match."""
    bad = con.execute("""
        SELECT m.path FROM raw.file_manifest m
        LEFT JOIN (SELECT file_sha256, path, ingested_at, count(*) AS n FROM raw.quarantine WHERE line_number > 0
                   GROUP BY ALL) q
          ON q.file_sha256 = m.file_sha256 AND q.path = m.path AND q.ingested_at = m.ingested_at
        WHERE m.status <> 'duplicate' AND (m.rows_read <> m.rows_loaded + m.rows_quarantined - m.rows_released
              OR coalesce(q.n, 0) <> m.rows_quarantined)""").fetchall()
    return not bad


def all_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every raw table's rows (for "a re-run changes no table")."""
    names = [n for (n,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
    return {name: table_rows(con, name) for name in names}


def statuses(con: duckdb.DuckDBPyConnection, path: str) -> list[tuple[str, str | None]]:
    """(status, reason_code) of every manifest row of `path`, oldest first."""
    return con.execute(
        "SELECT status, reason_code FROM raw.file_manifest WHERE path = ? ORDER BY ingested_at", [path]
    ).fetchall()


# --- fixtures (imported by the conftest.py of every folder that builds this tiny world) --------------------
@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    """A folder with inbox/ holding the masters of the tiny test world."""
    write_masters(tmp_path / "inbox")
    return tmp_path


def stream_ahead_that_fails(*_: object) -> None:
    """Stands for ingestion.csv_loader.stream_ahead in a pool's workers (importable there, as this module is):
    every file handed ahead fails to be read."""
    raise OSError("the disk went away")
