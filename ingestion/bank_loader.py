"""Loading one bank statement (bank/<bank>/<bank>_<branch>_<account>_D.txt, Zengin 03) into
raw.bank_statements and raw.bank_statement_lines.

A statement's sums are all or nothing (FORMATS.md: trailer totals and the balance must hold, or the file is
rejected): the reader's first problem rejects the file and every record is quarantined with it. The header's
account must be the one in the file name (`zengin_account_mismatch`), and its 勘定日(至) the file name's date
(`file_date_mismatch`).
Personal numbers (FORMATS.md bank/): the rule applies to each text (C) field's trimmed value, judged by
`codes.looks_like_my_number` (after NFKC), not to digit runs inside it. A data record with such a field is
quarantined (`my_number_detected`) with the field masked, the statement's other records load, and the
quarantined record still counts in the trailer and balance checks: the statement is read with that field
blanked, which changes no count or amount. A header holding one rejects the statement (the header is the
statement's row). Every quarantined record's text is masked by field, whatever the reason: a number touching
other digits in the fixed-width record is masked too.
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
from contracts.codes import looks_like_my_number
from contracts.reasons import Reason
from contracts.zengin_statement import DATA_SPEC, HEADER_SPEC, RECORD_LENGTH, Statement, read_statement
from ingestion.inbox import InboxFile
from ingestion.outcome import FileOutcome, FileStatus, QuarantinedRecord, whole_file
from ingestion.schema import BANK_STATEMENT_LINES, BANK_STATEMENTS

_SEPARATOR = re.compile(rb"\r\n|\r|\n")
_EOF = b"\x1a"


_TEXT_FIELDS = {
    ord("1"): tuple((name, start, length) for name, start, length, kind in HEADER_SPEC if kind == "C"),
    ord("2"): tuple((name, start, length) for name, start, length, kind in DATA_SPEC if kind == "C"),
}
_MASK_BYTE = b"*"


def personal_fields(record: bytes) -> tuple[tuple[str, int, int], ...]:
    """(name, 1-based start, length) of each text (C) field of a header or data record whose trimmed value
    is a My Number. Reads the record by the reader's own layout tables, so a record is judged even when the
    reader would reject it for something else (a full-width number is not JIS X 0201 text, for one)."""
    found = []
    for name, start, length in _TEXT_FIELDS.get(record[0] if record else -1, ()):
        text = record[start - 1 : start - 1 + length].decode("cp932", errors="replace")
        if looks_like_my_number(text):
            found.append((name, start, length))
    return tuple(found)


def _overwrite(record: bytes, fields: tuple[tuple[str, int, int], ...], fill: bytes) -> bytes:
    """`record` with the bytes of `fields` replaced by `fill` (never beyond the record's own length)."""
    out = bytearray(record)
    for _, start, length in fields:
        end = min(start - 1 + length, len(out))
        out[start - 1 : end] = fill * max(end - (start - 1), 0)
    return bytes(out)


def split_bank_records(data: bytes) -> list[tuple[int, str | None]]:
    """(line or record number, text) of each record: physical lines when the file has separators, else
    200-byte records numbered from 1. Text decoded as CP932 with undecodable bytes replaced, and every text
    field that is a My Number masked in place (same width), so what is quarantined never holds one."""
    body = data.rstrip(_EOF)
    if _SEPARATOR.search(body):
        pieces = [(n, p) for n, p in enumerate(_SEPARATOR.split(body), start=1) if p.strip(b" \x1a")]
    else:
        pieces = [(n // RECORD_LENGTH + 1, body[n : n + RECORD_LENGTH]) for n in range(0, len(body), RECORD_LENGTH)]
    return [
        (number, _overwrite(piece, personal_fields(piece), _MASK_BYTE).decode("cp932", errors="replace").rstrip(" "))
        for number, piece in pieces
    ]


@dataclass(frozen=True, slots=True)
class PersonalRecords:
    """The statement's records holding a My Number in a text field: record number -> field names, whether
    the header is one of them, and the file's bytes with those fields blanked (what the reader reads)."""

    fields_by_record: dict[int, tuple[str, ...]]
    header: bool
    readable: bytes


def personal_records(data: bytes) -> PersonalRecords:
    """Find the header and data records with a My Number field (by record number, as the reader counts)."""
    found: dict[int, tuple[str, ...]] = {}
    header = False
    blanked: list[bytes] = []
    for raw in zr.split_records(data, RECORD_LENGTH):
        fields = personal_fields(raw.data)
        if fields:
            found[raw.number] = tuple(name for name, _, _ in fields)
            header = header or raw.data[:1] == b"1"
        blanked.append(_overwrite(raw.data, fields, b" "))
    readable = b"\r\n".join(blanked) + b"\r\n" if found else data  # untouched unless a field was blanked
    return PersonalRecords(found, header, readable)


def _account_matches(file: InboxFile, statement: Statement) -> bool:
    header = statement.header
    return (
        header.bank_code == file.groups["bank"]
        and header.branch_code == file.groups["branch"]
        and header.account_number.lstrip("0") == file.groups["account"].lstrip("0")
    )


def _tables(
    statement: Statement, file: InboxFile, sha256: str, numbers: list[int], left_out: frozenset[int]
) -> dict[str, pa.Table]:
    """The statement's row and its data lines but those of records `left_out` (quarantined); the statement's
    counts and totals are the file's own, quarantined records included (they are on the account)."""
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
        if numbers[index + 1] not in left_out
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
            FileStatus.REJECTED,
            Reason.FILE_TOO_MANY_ROWS,
            f"more than {max_records} records (the configured limit)",
            None,
        )
    personal = personal_records(data)
    if personal.header:
        return whole_file(FileStatus.REJECTED, Reason.MY_NUMBER_DETECTED, _personal_detail(personal), records)
    read = read_statement(personal.readable, file.business_date)
    if read.statement is None or read.problems:
        first = read.problems[0] if read.problems else None
        code = first.code if first else Reason.ZENGIN_STRUCTURE
        detail = f"record {first.record_number}: {first.detail}" if first else "no statement in the file"
        return whole_file(FileStatus.REJECTED, code, detail, records)
    statement = read.statement
    if not _account_matches(file, statement):
        h = statement.header
        return whole_file(
            FileStatus.REJECTED,
            Reason.ZENGIN_ACCOUNT_MISMATCH,
            f"header account {h.bank_code}-{h.branch_code}-{h.account_number} is not the file name's",
            records,
        )
    if statement.header.period_to != file.business_date:
        return whole_file(
            FileStatus.REJECTED,
            Reason.FILE_DATE_MISMATCH,
            f"header 勘定日(至) {statement.header.period_to} is not the file name's date {file.business_date}",
            records,
        )
    numbers = [number for number, _ in records]
    if len(numbers) != len(statement.lines) + 3:
        return whole_file(
            FileStatus.REJECTED, Reason.ZENGIN_STRUCTURE, "records besides header, data, trailer and end", records
        )
    if loaded.contains(statement_key(statement)):
        return FileOutcome(
            FileStatus.LOADED,
            len(records),
            0,
            quarantined=tuple(
                QuarantinedRecord(n, Reason.DUPLICATE_KEY, "statement of this account and period already loaded", t)
                for n, t in records
            ),
        )
    quarantined = tuple(
        QuarantinedRecord(number, Reason.MY_NUMBER_DETECTED, _personal_detail(personal, number), text)
        for number, text in records
        if number in personal.fields_by_record
    )
    tables = _tables(statement, file, sha256, numbers, frozenset(personal.fields_by_record))
    return FileOutcome(FileStatus.LOADED, len(records), len(records) - len(quarantined), tables, quarantined)


def _personal_detail(personal: PersonalRecords, number: int | None = None) -> str:
    """Which record(s) and field(s) hold a personal number; never the value."""
    items = [
        f"record {n} {', '.join(names)}"
        for n, names in sorted(personal.fields_by_record.items())
        if number is None or n == number
    ]
    return f"{'; '.join(items)}: a personal number (masked)"
