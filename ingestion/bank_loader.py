"""Loading one bank statement (bank/<bank>/<bank>_<branch>_<account>_D.txt, Zengin 03) into
raw.bank_statements and raw.bank_statement_lines.

A statement is all or nothing (FORMATS.md: trailer totals and the balance must hold, or the file is rejected):
the reader's first problem rejects the file and every record is quarantined with it. The header's account
must be the one in the file name (`zengin_account_mismatch`), and its 勘定日(至) the file name's date
(`file_date_mismatch`). Before anything else, every text (C) field of the header and data records is checked
for a My Number (`my_number_detected`: the file is rejected, its records quarantined masked).
Duplicate rule (docs/formats.md): a statement is identified by (bank_code, branch_code, account_number,
period_from, period_to); a renamed copy of a loaded statement quarantines all its records as `duplicate_key`
(`LoadedStatements`: committed keys plus those the
run has decided to load). Reads nothing from the warehouse but that key, never writes it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from contracts import zengin_records as zr
from contracts.codes import contains_my_number, looks_like_my_number
from contracts.reasons import Reason
from contracts.zengin_statement import DATA_SPEC, HEADER_SPEC, RECORD_LENGTH, Statement, read_statement
from ingestion.inbox import InboxFile
from ingestion.outcome import LOADED, REJECTED, FileOutcome, QuarantinedRecord, whole_file
from ingestion.schema import BANK_STATEMENT_LINES, BANK_STATEMENTS

_SEPARATOR = re.compile(rb"\r\n|\r|\n")
_EOF = b"\x1a"


def split_bank_records(data: bytes) -> list[tuple[int, str | None]]:
    """(line or record number, text) of each record: physical lines when the file has separators, else
    200-byte records numbered from 1. Text decoded as CP932 with undecodable bytes replaced."""
    body = data.rstrip(_EOF)
    if _SEPARATOR.search(body):
        pieces = [(n, p) for n, p in enumerate(_SEPARATOR.split(body), start=1) if p.strip(b" \x1a")]
    else:
        pieces = [(n // RECORD_LENGTH + 1, body[n : n + RECORD_LENGTH]) for n in range(0, len(body), RECORD_LENGTH)]
    return [(number, piece.decode("cp932", errors="replace").rstrip(" ")) for number, piece in pieces]


_TEXT_FIELDS = {
    b"1": tuple((name, start, length) for name, start, length, kind in HEADER_SPEC if kind == "C"),
    b"2": tuple((name, start, length) for name, start, length, kind in DATA_SPEC if kind == "C"),
}


def my_number_field(data: bytes) -> str | None:
    """`record <n> <field>` of the first text (C) field of a header or data record holding a My Number -
    the whole right-trimmed field (codes.looks_like_my_number) or a run inside it (codes.contains_my_number:
    names, 摘要 and EDI are free text) - or None. Reads the records by the reader's own layout tables, so a
    file is checked even when the reader would reject it for something else; never returns the value."""
    for raw in zr.split_records(data, RECORD_LENGTH):
        for name, start, length in _TEXT_FIELDS.get(raw.data[:1], ()):
            text = raw.data[start - 1 : start - 1 + length].decode("cp932", errors="replace").rstrip(" ")
            if looks_like_my_number(text) or contains_my_number(text):
                return f"record {raw.number} {name}"
    return None


def _account_matches(file: InboxFile, statement: Statement) -> bool:
    header = statement.header
    return (
        header.bank_code == file.groups["bank"]
        and header.branch_code == file.groups["branch"]
        and header.account_number.lstrip("0") == file.groups["account"].lstrip("0")
    )


def _tables(statement: Statement, file: InboxFile, sha256: str, numbers: list[int]) -> dict[str, pa.Table]:
    h = statement.header
    lineage = {"file_sha256": sha256, "business_date": file.business_date}
    account = {"bank_code": h.bank_code, "branch_code": h.branch_code, "account_number": h.account_number}
    head = {
        **account,
        **lineage,
        "account_type": str(h.account_type),
        "account_name": h.account_name,
        "created_date": h.created_date,
        "period_from": h.period_from,
        "period_to": h.period_to,
        "opening_balance": h.opening_balance,
        "credit_count": statement.credit_count,
        "credit_total": statement.credit_total,
        "debit_count": statement.debit_count,
        "debit_total": statement.debit_total,
        "closing_balance": statement.closing_balance,
        "line_number": numbers[0],
    }
    lines = [
        {
            **account,
            **lineage,
            "line_number": numbers[index + 1],
            **{name: getattr(line, name) for name in BANK_STATEMENT_LINES.column_names if hasattr(line, name)},
        }
        for index, line in enumerate(statement.lines)
    ]
    return {
        "bank_statements": pa.Table.from_pylist([head], schema=BANK_STATEMENTS.arrow_schema()),
        "bank_statement_lines": pa.Table.from_pylist(lines, schema=BANK_STATEMENT_LINES.arrow_schema()),
    }


StatementKey = tuple[str, str, str, dt.date, dt.date]


def statement_key(statement: Statement) -> StatementKey:
    """(bank_code, branch_code, account_number, period_from, period_to): a statement's duplicate key."""
    h = statement.header
    return h.bank_code, h.branch_code, h.account_number, h.period_from, h.period_to


@dataclass(slots=True)
class LoadedStatements:
    """Statement keys loaded: committed (asked of the warehouse) or decided by this run (`remember`)."""

    con: duckdb.DuckDBPyConnection
    run_keys: set[StatementKey] = field(default_factory=set)

    def contains(self, key: StatementKey) -> bool:
        if key in self.run_keys:
            return True
        row = self.con.execute(
            "SELECT count(*) FROM raw.bank_statements WHERE bank_code = ? AND branch_code = ? "
            "AND account_number = ? AND period_from = ? AND period_to = ?",
            list(key),
        ).fetchall()
        return row[0][0] > 0

    def remember(self, outcome: FileOutcome) -> None:
        rows = outcome.tables.get("bank_statements")
        if rows is None:
            return
        for row in rows.select(["bank_code", "branch_code", "account_number", "period_from", "period_to"]).to_pylist():
            self.run_keys.add(tuple(row.values()))


def load_bank_file(
    file: InboxFile, data: bytes, loaded: LoadedStatements, sha256: str, max_records: int
) -> FileOutcome:
    """The outcome of one bank statement file."""
    records = split_bank_records(data)
    if len(records) > max_records:
        return whole_file(
            REJECTED,
            Reason.FILE_TOO_MANY_ROWS,
            f"more than {max_records} records (the configured limit)",
            None,
        )
    personal = my_number_field(data)
    if personal is not None:
        return whole_file(
            REJECTED, Reason.MY_NUMBER_DETECTED, f"{personal} holds a personal number (masked)", records
        )
    read = read_statement(data, file.business_date)
    if read.statement is None or read.problems:
        first = read.problems[0] if read.problems else None
        code = first.code if first else Reason.ZENGIN_STRUCTURE
        detail = f"record {first.record_number}: {first.detail}" if first else "no statement in the file"
        return whole_file(REJECTED, code, detail, records)
    statement = read.statement
    if not _account_matches(file, statement):
        h = statement.header
        return whole_file(
            REJECTED,
            Reason.ZENGIN_ACCOUNT_MISMATCH,
            f"header account {h.bank_code}-{h.branch_code}-{h.account_number} is not the file name's",
            records,
        )
    if statement.header.period_to != file.business_date:
        return whole_file(
            REJECTED,
            Reason.FILE_DATE_MISMATCH,
            f"header 勘定日(至) {statement.header.period_to} is not the file name's date {file.business_date}",
            records,
        )
    numbers = [number for number, _ in records]
    if len(numbers) != len(statement.lines) + 3:
        return whole_file(REJECTED, Reason.ZENGIN_STRUCTURE, "records besides header, data, trailer and end", records)
    if loaded.contains(statement_key(statement)):
        return FileOutcome(
            LOADED,
            len(records),
            0,
            quarantined=tuple(
                QuarantinedRecord(n, Reason.DUPLICATE_KEY, "statement of this account and period already loaded", t)
                for n, t in records
            ),
        )
    return FileOutcome(LOADED, len(records), len(records), _tables(statement, file, sha256, numbers))
