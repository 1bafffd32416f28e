"""Fuzzer (issue 7 §1): hostile bytes and names of every file kind (CSV of each source, terminal JSONL, Zengin
statements, masters, names matching no pattern or not UTF-8) mixed with valid files over several runs.

After every run: the run did not raise; every delivered file has exactly one manifest row per distinct content
(path, SHA-256), and nothing else is in the manifest; each valid file loaded completely (status loaded,
nothing quarantined, every record in its raw table with its lineage); for every manifest row rows_read =
rows_loaded + rows_quarantined - rows_released, matching its quarantine rows.

Hostile files are named so that they can never collide with a valid one (other dates, other upload numbers,
other accounts, ids prefixed H) and their masters are dated before the valid masters, so whatever of them
loads cannot change what the valid files are checked against: a valid file must load whatever the hostile
ones do. CI runs FUZZ_EXAMPLES (default 25) examples; a soak raises it: SEISAN_FUZZ_EXAMPLES=2000.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingestion_builders import (
    D,
    accounting_holds,
    cert_row,
    csv_of,
    ledger_row,
    sale_row,
    terminal_bytes,
    terminal_records,
    write_certs,
    write_masters,
    ymd,
)

from contracts import terminal_log
from contracts.schemas import CSV_KINDS_BY_NAME
from contracts.zengin_statement import Statement, StatementHeader, StatementLine, write_statement
from ingestion import ingest

FUZZ_EXAMPLES = int(os.environ.get("SEISAN_FUZZ_EXAMPLES", "25"))
RUNS_MAX = 3


# --- valid files: (relative path, bytes, raw table, records) --------------------------------------------
@dataclasses.dataclass(frozen=True)
class Valid:
    path: str
    data: bytes
    table: str
    records: int  # records read = loaded


def _statement(day: dt.date, account: str, amount_yen: int) -> bytes:
    header = StatementHeader(
        created_date=day, period_from=day, period_to=day, bank_code="0001", bank_name="ﾐｽﾞﾎ", branch_code="004",
        branch_name="ﾏﾙﾉｳﾁ", account_type=1, account_number=account, account_name="ﾁﾖﾀﾞｸ", overdraft_flag=1,
        passbook_flag=1, opening_balance=1_000_000,
    )
    line = StatementLine("00000001", day, day, "credit", "11", amount_yen, remitter_name="ｱｸﾒ", description="ﾌﾘｺﾐ")
    return write_statement(Statement(header, (line,)))


def _valid_files(run: int, rows: int, terminal_prev: str, first_seq: int) -> tuple[list[Valid], str]:
    """The valid files of run `run` (dated D + run), and the last terminal hash after them (the terminal file
    holds seqs first_seq .. first_seq + rows, its seal last)."""
    day = D + dt.timedelta(days=run)
    ledger = [ledger_row(f"E{run}x{i}", day) for i in range(rows)]
    sales = [sale_row(order_id=f"O{run}x{i}", order_ts=f"{day.isoformat()}T12:00:00+09:00") for i in range(rows)]
    records = terminal_records(first_seq, rows, terminal_prev, day)
    files = [
        Valid(f"platform/ledger_{ymd(day)}.csv", csv_of("platform_ledger", ledger), "platform_ledger", rows),
        Valid(f"partner/ACME/ACME_sales_{ymd(day)}.csv", csv_of("partner_sales", sales), "partner_sales", rows),
        Valid(f"terminal/T00000001/T00000001_{ymd(day)}_{run + 1:04d}.jsonl", terminal_bytes(records),
              "terminal_records", rows + 1),
        Valid(f"bank/0001/0001_004_1234567_{ymd(day)}.txt", _statement(day, "1234567", 1000 + run),
              "bank_statement_lines", 4),
    ]
    return files, records[-1]["hash"]


# --- hostile files ---------------------------------------------------------------------------------------
_HOSTILE_DAY = D - dt.timedelta(days=20)  # after the valid masters (11-01), before every valid file
_SLOTS = (*CSV_KINDS_BY_NAME, "terminal", "bank", "unknown", "not_utf8")


def _hostile_name(slot: str, run: int, index: int) -> bytes:
    """A name of the slot's kind that no valid file of the scenario has: masters dated in October (before the
    valid masters of 11-01, so never in force for a valid file), the rest dated 11-05 onwards."""
    day = ymd(_HOSTILE_DAY + dt.timedelta(days=run * 8 + index))
    if slot in CSV_KINDS_BY_NAME:
        kind = CSV_KINDS_BY_NAME[slot]
        stem = slot.split("_", 1)[1]
        if kind.source == "master":
            return f"master/{stem}_{ymd(dt.date(2026, 10, 1) + dt.timedelta(days=run * 8 + index))}.csv".encode()
        folder = "partner/ACME/ACME_" if kind.source == "partner" else "platform/"
        return f"{folder}{stem}_{day}.csv".encode()
    return {
        "terminal": f"terminal/T00000001/T00000001_{day}_{9000 + run * 8 + index:04d}.jsonl",
        "bank": f"bank/0001/0001_004_7654321_{day}.txt",
        "unknown": f"platform/junk {run}-{index}.bin",
    }.get(slot, "").encode() or f"platform/ledger_\udcff{run}{index}_{day}.csv".encode("utf-8", "surrogateescape")


def _templates(slot: str) -> bytes:
    """A well-formed file of the slot's kind whose ids cannot meet a valid file's, to mutate."""
    day = _HOSTILE_DAY
    if slot in ("platform_ledger", "not_utf8", "unknown"):
        return csv_of("platform_ledger", [ledger_row(f"H{i}", day) for i in range(3)])
    if slot == "partner_sales":
        return csv_of("partner_sales", [sale_row(order_id=f"H{i}") for i in range(3)])
    if slot == "terminal":
        other = terminal_bytes(terminal_records(1, 3, terminal_log.GENESIS_HASH, day))
        return other.replace(b"T00000001", b"T00000002")
    if slot == "bank":
        return _statement(day, "7654321", 5)
    return csv_of(slot, [])  # the kind's header: mutations and random rows under it


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@st.composite
def _mutated(draw: st.DrawFn, template: bytes) -> bytes:
    data = bytearray(template)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("cut", "insert", "flip", "repeat_line")))
        if op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=20) | st.sampled_from(
                [b",", b'"', b"\n", b"\r\n", b"\x00", "１２３４".encode(), b"99999999999999999999999", b"-0", b"{"]))
        elif op == "flip" and data:
            data[min(at, len(data) - 1)] ^= draw(st.integers(1, 255))
        elif op == "repeat_line":
            lines = bytes(data).split(b"\n")
            data = bytearray(b"\n".join(lines + lines[: draw(st.integers(0, len(lines)))]))
    return bytes(data)


@st.composite
def _hostile_bytes(draw: st.DrawFn, slot: str) -> bytes:
    template = _templates(slot)
    choice = draw(st.sampled_from(("random", "mutated", "json", "nested", "csv_text", "empty")))
    if choice == "random":
        return draw(st.binary(max_size=600))
    if choice == "mutated":
        return draw(_mutated(template))
    if choice == "json":
        lines = draw(st.lists(_json_values, min_size=1, max_size=4))
        return b"".join(json.dumps(v).encode() + b"\n" for v in lines)
    if choice == "nested":
        depth = draw(st.integers(100, 50_000))
        return b'{"v":' + b"[" * depth + b"]" * depth + b"}\n"
    if choice == "csv_text":
        header = template.split(b"\n", 1)[0]
        fields = draw(st.lists(st.text(max_size=12), min_size=1, max_size=10))
        return header + b"\n" + ",".join(fields).encode("utf-8", "surrogatepass") + b"\n"
    return b""


@st.composite
def _hostile_run(draw: st.DrawFn, run: int) -> list[tuple[bytes, bytes]]:
    slots = draw(st.lists(st.sampled_from(_SLOTS), max_size=4))
    return [(_hostile_name(slot, run, index), draw(_hostile_bytes(slot))) for index, slot in enumerate(slots)]


@st.composite
def _scenario(draw: st.DrawFn) -> tuple[list[int], list[list[tuple[bytes, bytes]]]]:
    runs = draw(st.integers(1, RUNS_MAX))
    valid_rows = [draw(st.integers(1, 3)) for _ in range(runs)]
    return valid_rows, [draw(_hostile_run(run)) for run in range(runs)]


# --- checks ----------------------------------------------------------------------------------------------
def _stored(path: bytes) -> str:
    """The manifest path of a delivered name: as is, or with bytes that are not UTF-8 as \\xNN (formats.md)."""
    return path.decode("utf-8", "backslashreplace")


def _check(con: duckdb.DuckDBPyConnection, delivered: dict[tuple[str, str], bytes], valid: list[Valid]) -> None:
    rows = con.execute(
        "SELECT path, file_sha256, count(*) FROM raw.file_manifest WHERE status <> 'released' GROUP BY ALL"
    ).fetchall()
    assert {(path, sha): n for path, sha, n in rows} == dict.fromkeys(delivered, 1)
    for file in valid:
        sha = hashlib.sha256(file.data).hexdigest()
        status = con.execute(
            "SELECT status, rows_read, rows_loaded, rows_quarantined FROM raw.file_manifest WHERE path = ?",
            [file.path],
        ).fetchall()
        assert status == [("loaded", file.records, file.records, 0)], file.path
        if file.table != "bank_statement_lines":
            loaded = con.execute(f"SELECT count(*) FROM raw.{file.table} WHERE file_sha256 = ?", [sha]).fetchone()
            expected = file.records - 1 if file.table == "terminal_records" else file.records  # seal apart
            assert loaded == (expected,), file.path
    assert accounting_holds(con)


def _write(inbox: Path, rel: bytes, data: bytes) -> None:
    path = os.fsencode(str(inbox)) + b"/" + rel
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])
@given(_scenario())
def test_hostile_files_never_stop_the_day(scenario):
    valid_rows, hostile = scenario
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        inbox = home / "inbox"
        write_masters(inbox)
        write_certs(inbox, [cert_row()])
        setup = [p for p in inbox.rglob("*") if p.is_file()]
        delivered = {(p.relative_to(inbox).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest()): b""
                     for p in setup}
        valid: list[Valid] = []
        previous, first_seq = terminal_log.GENESIS_HASH, 1
        con = duckdb.connect(":memory:")
        try:
            for run, rows in enumerate(valid_rows):
                files, previous = _valid_files(run, rows, previous, first_seq)
                first_seq += rows + 1
                for file in files:
                    _write(inbox, file.path.encode(), file.data)
                    delivered[(file.path, hashlib.sha256(file.data).hexdigest())] = file.data
                for name, data in hostile[run]:
                    _write(inbox, name, data)
                    delivered[(_stored(name), hashlib.sha256(data).hexdigest())] = data
                valid += files
                ingest(con, inbox, home / "raw", D + dt.timedelta(days=run))
                _check(con, delivered, valid)
        finally:
            con.close()
