"""Fault injection for simulated worlds, and the ground truth written to faults.json.

Two layers (docs/simulator.md lists every kind with its expected outcome):

- "ingestion": bad rows and files. Row faults are *extra* rows: a copy of a real, valid row of the same file
  with a fresh key and exactly one defect, so that quarantining it leaves the clean world whole, and the
  expected reason is the first problem contracts/validation.py reports (field count, required, My Number,
  per-column types in column order, cross-field, date range, referential, duplicate keys). Whole-file faults
  go to extra files where possible (a master snapshot on a day the master did not change, so the previous
  snapshot stays in force with the same content; a partner file under a free name; an extra terminal upload
  after the day's last one, which leaves the real chain intact). Faults that must damage a real file (a
  Zengin trailer) record what is lost.
- "reconciliation": valid data on which the sources disagree (a terminal upload that never arrives, uses
  only on one side, amount or merchant mismatches, late files, short or double partner payments, balance
  drift, uses at undesignated or inactive merchants, grants over the annual cap, acquirer net mismatches).

Levels: `none` injects nothing, `typical` one or two of each kind where the world gives a chance, `hostile`
five to eight. Every choice comes from a generator seeded by the world seed. This module never writes files.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts import schemas as s
from contracts.codes import my_number_check_digit
from contracts.inbox_names import inbox_path
from contracts.reasons import Reason
from simulator.outputs import BankFile, CsvFile, Deposit, master_rows
from simulator.point_platform import LedgerEvent, PlatformOutput, TerminalRecord
from simulator.signing import Signer
from simulator.terminals import TerminalFile, chain, record_body, seal_time, signing_message, upload_path
from simulator.world import World, rng_for

LEVELS = ("none", "typical", "hostile")
ENGINE_FAULTS = ("grant_over_annual_cap", "use_at_undesignated_merchant", "use_at_inactive_merchant")


def fake_my_number(rng: random.Random) -> str:
    """A 12-digit value that passes the My Number check digit (never a real person's: it is random)."""
    body = "".join(rng.choice("0123456789") for _ in range(11))
    return body + str(my_number_check_digit(body))


@dataclass(slots=True)
class Later:
    """A file that arrives late or again: inbox path, arrival date, bytes."""

    path: str
    arrives: dt.date
    data: bytes


@dataclass(slots=True)
class FaultBook:
    """What was injected, and how many of each kind the level asks for."""

    world: World
    level: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    later: list[Later] = field(default_factory=list)
    row_refs: list[tuple[dict[str, Any], CsvFile, dict[str, str]]] = field(default_factory=list)
    rng: random.Random = field(init=False)
    injected: set[int] = field(default_factory=set)  # id() of rows this book added

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"faults is one of {LEVELS}, not {self.level!r}")
        self.rng = rng_for(self.world.seed, f"faults/{self.level}")

    def count(self) -> int:
        if self.level == "none":
            return 0
        return self.rng.randint(1, 2) if self.level == "typical" else self.rng.randint(5, 8)

    def add(self, layer: str, kind: str, path: str, line_number: int, arrives: dt.date | None,
            expect: dict[str, Any], **detail: Any) -> dict[str, Any]:
        entry = {"layer": layer, "kind": kind, "path": path, "line_number": line_number,
                 "arrives": arrives.isoformat() if arrives else None, "expect": expect, **detail}
        self.entries.append(entry)
        return entry

    def later_day(self, day: dt.date) -> dt.date:
        offset = self.rng.randint(1, 2)
        return min(day + dt.timedelta(days=offset), max(self.world.end, day + dt.timedelta(days=1)))

    def finish(self) -> list[dict[str, Any]]:
        """Entries with ids and final line numbers (extra rows are located in their file at the end)."""
        for entry, file, row in self.row_refs:
            entry["line_number"] = next(i for i, r in enumerate(file.rows) if r is row) + 2
        ordered = sorted(self.entries, key=lambda e: (e["layer"], e["kind"], e["path"], e["line_number"]))
        return [{"id": f"F{i:04d}", **e} for i, e in enumerate(ordered, start=1)]


# --- phase A: faults the platform itself makes --------------------------------------------------------------
def engine_fault_days(book: FaultBook) -> dict[str, set[int]]:
    """Day indexes on which the platform makes a control-break event (one per listed day)."""
    world = book.world
    result: dict[str, set[int]] = {}
    first_change = min((since for m in world.merchants for since, _ in m.statuses[1:]), default=None)
    for kind in ENGINE_FAULTS:
        low = 0
        if kind == "use_at_inactive_merchant":
            if first_change is None or first_change > world.end:
                continue
            low = (first_change - world.start).days
        n = book.count()
        result[kind] = {book.rng.randint(low, world.days - 1) for _ in range(n)}
    return result


def record_engine_faults(book: FaultBook, out: PlatformOutput) -> None:
    for fault in out.recon_faults:
        details = {k: v for k, v in fault.items() if k not in ("kind", "day")}
        book.add("reconciliation", fault["kind"], inbox_path(s.PLATFORM_LEDGER.name, fault['day']), 0, None,
                 {"break": fault["kind"]}, event_id=fault["event_id"],
                 **{k: v for k, v in details.items() if k != "event_id"})


# --- phase B: records before the terminal logs are written --------------------------------------------------
def _ledger_index(out: PlatformOutput) -> dict[str, LedgerEvent]:
    return {e.event_id: e for events in out.ledger.values() for e in events}


def terminal_record_faults(book: FaultBook, out: PlatformOutput, cancelled: set[str]) -> None:
    """Drop, change or invent terminal records; change a ledger merchant; drift a balance."""
    world, rng = book.world, book.rng
    ledger = _ledger_index(out)
    forced = {f["event_id"] for f in out.recon_faults}
    candidates = [r for r in out.terminal_records
                  if r.type == "use" and r.event_id not in cancelled and r.event_id not in forced]
    rng.shuffle(candidates)

    def take() -> TerminalRecord | None:
        return candidates.pop() if candidates else None

    for _ in range(book.count()):
        record = take()
        if record:
            record.dropped = True
            book.add("reconciliation", "use_missing_in_terminal", _ledger_path(record), 0, None,
                     {"break": "use_missing_in_terminal"}, event_id=record.event_id, auth_id=record.auth_id,
                     terminal_id=record.terminal_id)
    for _ in range(book.count()):
        record = take()
        if record:
            ledger_amount = record.amount
            record.amount += rng.choice((100, 1000, -min(100, record.amount - 1) or 1))
            book.add("reconciliation", "amount_mismatch", _ledger_path(record), 0, None,
                     {"break": "amount_mismatch"}, event_id=record.event_id, auth_id=record.auth_id,
                     terminal_id=record.terminal_id, ledger_amount=ledger_amount, terminal_amount=record.amount)
    for _ in range(book.count()):
        record = take()
        if not record:
            continue
        day = record.ts.date()
        others = [m.merchant_id for m in world.merchants if m.channel == "store" and m.merchant_id != record.merchant_id
                  and m.status_on(day) == "active" and m.listed_from <= day
                  and world.designated(record.municipality_code, m.merchant_id, day)]
        if others:
            event = ledger[record.event_id]
            event.merchant_id = rng.choice(others)
            book.add("reconciliation", "merchant_mismatch", _ledger_path(record), 0, None,
                     {"break": "merchant_mismatch"}, event_id=record.event_id, auth_id=record.auth_id,
                     terminal_id=record.terminal_id, ledger_merchant_id=event.merchant_id,
                     terminal_merchant_id=record.merchant_id)
    for kind, forged in (("use_missing_in_platform", False), ("forged_card_signature", True)):
        for _ in range(book.count()):
            template = take()
            if template is None:
                continue
            invented = copy.copy(template)
            invented.ts = template.ts + dt.timedelta(seconds=1)
            invented.auth_id = f"A{invented.ts:%Y%m%d}{990000 + len(book.entries):06d}"
            invented.event_id, invented.forged, invented.amount = "", forged, rng.choice((300, 500, 700))
            out.terminal_records.append(invented)
            if forged:
                book.add("ingestion", kind, "", 0, None,
                         {"row_status": "quarantined", "reason_code": Reason.TERMINAL_CARD_SIGNATURE_INVALID.value},
                         terminal_id=invented.terminal_id, auth_id=invented.auth_id, _record=invented)
            else:
                book.add("reconciliation", kind, "", 0, None, {"break": kind}, terminal_id=invented.terminal_id,
                         auth_id=invented.auth_id, _record=invented)
    _balance_drift(book, out)


def _ledger_path(record: TerminalRecord) -> str:
    return inbox_path(s.PLATFORM_LEDGER.name, record.ts.date())


def _balance_drift(book: FaultBook, out: PlatformOutput) -> None:
    days = [d for d, rows in out.balances.items() if rows]
    for _ in range(book.count() if days else 0):
        day = book.rng.choice(days)
        row = book.rng.choice(out.balances[day])
        true_balance = int(row["balance"])
        drift = book.rng.choice((1, 10, 100, 250))
        row["balance"] = str(true_balance + drift)
        book.add("reconciliation", "balance_drift", inbox_path(s.PLATFORM_BALANCES.name, day), 0, None,
                 {"break": "balance_drift"}, municipality_code=row["municipality_code"],
                 program_code=row["program_code"], mykey_id=row["mykey_id"], expected_balance=true_balance,
                 reported_balance=true_balance + drift, _row=(day, row))


# --- phase C: terminal files -------------------------------------------------------------------------------
def locate_terminal_records(book: FaultBook, files: list[TerminalFile]) -> None:
    where = {id(r): (f, i + 1) for f in files for i, r in enumerate(f.records)}
    for entry in book.entries:
        record = entry.pop("_record", None)
        if record is not None:
            file, line = where[id(record)]
            entry["path"], entry["line_number"] = file.path, line
            entry["arrives"] = file.day.isoformat()


def terminal_file_faults(book: FaultBook, files: list[TerminalFile], signer: Signer) -> list[TerminalFile]:
    """Missing and late uploads, and extra uploads that fail verification; returns the files to write."""
    rng = book.rng
    by_terminal: dict[str, list[TerminalFile]] = {}
    for f in files:
        by_terminal.setdefault(f.terminal_id, []).append(f)
    touched: set[str] = set()
    followed = [f for f in files if by_terminal[f.terminal_id][-1] is not f and not _has_fault(f, book)]
    rng.shuffle(followed)
    keep = list(files)
    for kind in ("terminal_upload_missing", "file_late"):
        for _ in range(book.count()):
            if not followed:
                break
            f = followed.pop()
            if f.terminal_id in touched:
                continue
            touched.add(f.terminal_id)
            keep.remove(f)
            gap = {"terminal_id": f.terminal_id, "missing_from_seq": f.first_seq, "missing_to_seq": f.seal["seq"]}
            if kind == "file_late":
                arrives = book.later_day(f.day)
                book.later.append(Later(f.path, arrives, f.data()))
                book.add("reconciliation", kind, f.path, 0, arrives,
                         {"break": "terminal_seq_gap", "resolves_on": arrives.isoformat(), **gap})
            else:
                book.add("reconciliation", kind, f.path, 0, None, {"break": "terminal_seq_gap", **gap},
                         auth_ids=[r.auth_id for r in f.records])
    keep += _extra_uploads(book, by_terminal, touched, signer)
    return keep


def _has_fault(file: TerminalFile, book: FaultBook) -> bool:
    return any(r.forged or not r.event_id for r in file.records)


_EXTRA_KINDS = (("terminal_truncated", Reason.TERMINAL_JSON_INVALID), ("terminal_chain_broken",
                Reason.TERMINAL_CHAIN_BROKEN), ("terminal_seal_forged", Reason.TERMINAL_SEAL_SIGNATURE_INVALID),
                ("terminal_fork", Reason.TERMINAL_FORK), ("duplicate_content_other_name", Reason.DUPLICATE_KEY))


def _extra_uploads(book: FaultBook, by_terminal: dict[str, list[TerminalFile]], touched: set[str],
                   signer: Signer) -> list[TerminalFile]:
    rng, world = book.rng, book.world
    extras: list[TerminalFile] = []
    last_of_day: dict[tuple[str, dt.date], TerminalFile] = {}
    for tid, tfiles in by_terminal.items():
        for f in tfiles:
            last_of_day[(tid, f.day)] = f
    slots = sorted((k for k in last_of_day if k[0] not in touched and last_of_day[k].records), key=str)
    rng.shuffle(slots)
    for kind, reason in _EXTRA_KINDS:
        for _ in range(book.count()):
            if not slots:
                break
            tid, day = slots.pop()
            last = last_of_day[(tid, day)]
            number = last.upload + 1
            path = upload_path(tid, day, number)
            if kind == "duplicate_content_other_name":
                source = rng.choice([f for f in by_terminal[tid] if f.day == day])
                extras.append(TerminalFile(path, tid, day, number, source.encoded, []))
                book.add("ingestion", kind, path, 0, day,
                         {"file_status": "loaded", "rows_status": "quarantined", "reason_code": reason.value,
                          "rows": source.line_count}, copy_of=source.path)
                continue
            lines = _invented_upload(world, last, signer, rng)
            data = None
            if kind == "terminal_truncated":
                full = b"".join(_dump(line) for line in lines)
                data = full[:len(full) - len(_dump(lines[-1])) // 2]
            elif kind == "terminal_chain_broken":
                lines[1]["prev_hash"] = "f" * 64
                lines[1].pop("hash")
                from contracts.terminal_log import finish_record
                finish_record(lines[1])
                lines[2] = _reseal(world, tid, day, lines, 2)
            elif kind == "terminal_seal_forged":
                from contracts.terminal_log import sign_seal
                from simulator.keys import ed25519_key
                lines[-1]["term_sig"] = sign_seal(ed25519_key(f"seed={world.seed}/forger/{tid}"), lines[-1]["hash"])
            elif kind == "terminal_fork":
                lines = _invented_upload(world, last, signer, rng, prev_hash=last.lines[-2]["hash"])
            extra = TerminalFile.of(path, tid, day, number, lines)
            extra_data = data
            extras.append(_Raw(extra, extra_data) if extra_data is not None else extra)
            book.add("ingestion", kind, path, 0, day, {"file_status": "rejected", "reason_code": reason.value})
    return extras


class _Raw(TerminalFile):
    """An extra upload whose bytes are given (a torn file)."""

    __slots__ = ("raw",)

    def __init__(self, base: TerminalFile, raw: bytes) -> None:
        super().__init__(base.path, base.terminal_id, base.day, base.upload, base.encoded, base.records)
        self.raw = raw

    def data(self) -> bytes:
        return self.raw


def _dump(line: dict[str, Any]) -> bytes:
    from contracts.terminal_log import dump_line

    return dump_line(line)


def _invented_upload(world: World, last: TerminalFile, signer: Signer, rng: random.Random,
                     prev_hash: str | None = None) -> list[dict[str, Any]]:
    """Two invented uses after `last` (chained to its seal unless `prev_hash` is given), signed and sealed."""
    template = last.records[-1]
    seq = last.seal["seq"]
    bodies = []
    for i in range(2):
        record = copy.copy(template)
        record.type, record.cancel_of = "use", ""
        record.seq = seq + 1 + i
        record.ts = seal_time(last.day, template.ts)
        record.auth_id = f"A{last.day:%Y%m%d}{980000 + rng.randrange(10000):06d}"
        record.amount = rng.choice((200, 400))
        body = record_body(record)
        body["card_sig"] = signer.sign([(record.key_index, signing_message(body, False))])[0]
        bodies.append(body)
    key = world.terminal_key_on(last.terminal_id, last.day)
    return chain(last.terminal_id, bodies, prev_hash or last.seal["hash"], seq + 3,
                 seal_time(last.day, bodies[-1] and template.ts), key.key_label)


def _reseal(world: World, tid: str, day: dt.date, lines: list[dict[str, Any]], index: int) -> dict[str, Any]:
    from contracts.terminal_log import make_seal
    from simulator.terminals import terminal_key

    old = lines[index]
    key = world.terminal_key_on(tid, day)
    return make_seal(tid, old["seq"], old["ts"], old["records"], lines[index - 1]["hash"], terminal_key(key.key_label))


# --- phase D: CSV rows and files ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RowFault:
    """One row defect: which file kind, which template rows, which column gets which value, expected code."""

    kind: str
    file_kind: str
    column: str
    reason: Reason
    template: str = ""  # ledger event_type of the template row ("" = any)


ROW_FAULTS = (
    RowFault("bad_check_digit", "platform_ledger", "municipality_code", Reason.MUNICIPALITY_CODE_CHECK_DIGIT),
    RowFault("my_number_in_id_field", "platform_ledger", "auth_id", Reason.MY_NUMBER_DETECTED, "use"),
    RowFault("required_field_empty", "platform_ledger", "mykey_id", Reason.FIELD_REQUIRED),
    RowFault("amount_not_integer", "platform_ledger", "amount", Reason.AMOUNT_NOT_INTEGER, "grant"),
    RowFault("amount_signed", "platform_ledger", "amount", Reason.AMOUNT_SIGNED, "use"),
    RowFault("amount_over_limit", "platform_ledger", "amount", Reason.AMOUNT_OUT_OF_RANGE, "grant"),
    RowFault("timestamp_without_offset", "platform_ledger", "event_ts", Reason.TIMESTAMP_INVALID),
    RowFault("enum_invalid", "platform_ledger", "event_type", Reason.FIELD_ENUM),
    RowFault("unknown_merchant", "partner_sales", "merchant_id", Reason.MERCHANT_UNKNOWN),
    RowFault("amount_signed", "partner_sales", "points_used", Reason.AMOUNT_SIGNED),
    RowFault("enum_invalid", "partner_sales", "status", Reason.FIELD_ENUM),
    RowFault("date_invalid", "partner_settlement", "deposit_date", Reason.DATE_INVALID),
    RowFault("date_out_of_range", "partner_settlement", "deposit_date", Reason.DATE_OUT_OF_RANGE),
    RowFault("amount_over_limit", "partner_settlement", "amount", Reason.AMOUNT_OUT_OF_RANGE),
    RowFault("amount_not_integer", "partner_conversion", "amount_due_yen", Reason.AMOUNT_NOT_INTEGER),
    RowFault("bad_check_digit", "partner_conversion", "municipality_code", Reason.MUNICIPALITY_CODE_CHECK_DIGIT),
)
KEY_COLUMN = {"platform_ledger": "event_id", "partner_sales": "order_id", "partner_settlement": "payment_ref",
              "partner_conversion": "partner_txn_id"}


def _bad_value(fault: RowFault, row: dict[str, str], rng: random.Random, day: dt.date) -> str:
    value = row.get(fault.column, "")
    kind = fault.kind
    if kind == "bad_check_digit":
        return value[:5] + str((int(value[5]) + rng.randint(1, 9)) % 10)
    if kind.startswith("my_number"):
        return fake_my_number(rng)
    if kind == "required_field_empty":
        return ""
    if kind == "amount_not_integer":
        return rng.choice((f"{value}.0", "1e3", f"{value}.5"))
    if kind == "amount_signed":
        return f"+{value}"
    if kind == "amount_over_limit":
        return str(rng.choice((10_000_001, 12_000_000, 99_999_999)))
    if kind == "timestamp_without_offset":
        return value[:19]
    if kind == "unknown_merchant":
        return f"M{rng.randrange(0, 10_000_000):08d}"[:1] + "99" + f"{rng.randrange(0, 10**6):06d}"
    if kind == "enum_invalid":
        return {"event_type": "spend", "status": "captureded"}.get(fault.column, "other")
    if kind == "date_invalid":
        return rng.choice((f"{day.year}-02-30", f"{day.year}-13-01", f"{day:%Y/%m/%d}"))
    if kind == "date_out_of_range":
        return (day + dt.timedelta(days=3 * 365)).isoformat()
    raise KeyError(kind)


def row_faults(book: FaultBook, csv_files: list[CsvFile]) -> None:
    """Extra rows with one defect each, in ledger and partner files."""
    rng = book.rng
    known_merchants = {m.merchant_id for m in book.world.merchants}
    by_kind: dict[str, list[CsvFile]] = {}
    for f in csv_files:
        if f.row_count:
            by_kind.setdefault(f.kind.name, []).append(f)
    serial = 0
    for fault in ROW_FAULTS:
        files = by_kind.get(fault.file_kind, [])
        for _ in range(book.count() if files else 0):
            file = rng.choice(files)
            templates = [r for r in file.rows if id(r) not in book.injected
                         and (not fault.template or r.get("event_type") == fault.template)]
            if not templates:
                continue
            row = dict(rng.choice(templates))
            serial += 1
            row[KEY_COLUMN[fault.file_kind]] = f"{row[KEY_COLUMN[fault.file_kind]]}-F{serial}"
            bad = _bad_value(fault, row, rng, file.day)
            while fault.kind == "unknown_merchant" and bad in known_merchants:
                bad = _bad_value(fault, row, rng, file.day)
            row[fault.column] = bad
            file.rows.insert(rng.randint(0, len(file.rows)), row)
            book.injected.add(id(row))
            entry = book.add("ingestion", fault.kind, file.path, 0, file.day,
                             {"row_status": "quarantined", "reason_code": fault.reason.value}, column=fault.column)
            book.row_refs.append((entry, file, row))


def truncated_csv(book: FaultBook, csv_files: list[CsvFile]) -> dict[str, int]:
    """Files to cut: path -> how many bytes of the extra last row to keep (its row is `csv_field_count`)."""
    rng = book.rng
    cuts: dict[str, int] = {}
    candidates = [f for f in csv_files if f.row_count and f.kind.name in KEY_COLUMN]
    for _ in range(book.count()):
        file = rng.choice(candidates)
        if file.path in cuts:
            continue
        row = dict(rng.choice([r for r in file.rows if id(r) not in book.injected]))
        row[KEY_COLUMN[file.kind.name]] += "-T"
        file.rows.append(row)
        cuts[file.path] = rng.randint(2, len(file.kind.column_names) - 2)  # fields kept
        entry = book.add("ingestion", "truncated_file", file.path, 0, file.day,
                         {"row_status": "quarantined", "reason_code": Reason.CSV_FIELD_COUNT.value})
        book.row_refs.append((entry, file, row))
    return cuts


def cut_last_row(data: bytes, fields_kept: int) -> bytes:
    body = data.rstrip(b"\n")
    start = body.rfind(b"\n") + 1
    last = body[start:]
    kept = b",".join(last.split(b",")[:fields_kept])
    return body[:start] + kept


def master_faults(book: FaultBook) -> list[tuple[CsvFile, bytes | None]]:
    """Extra master snapshots on days the master did not change: same rows as in force, plus one bad row,
    or a broken header, or the wrong encoding. The snapshot in force does not change if it is rejected."""
    world, rng = book.world, book.rng
    out: list[tuple[CsvFile, bytes | None]] = []
    used: set[str] = set()

    def free_day(name: str) -> dt.date | None:
        options = [world.date(i) for i in range(1, world.days)
                   if world.date(i) not in world.master_changes[name] and f"{name}{i}" not in used]
        if not options:
            return None
        day = rng.choice(options)
        used.add(f"{name}{(day - world.start).days}")
        return day

    plans = [("my_number_in_text", "merchants"), ("date_invalid", "designations"),
             ("date_out_of_range", "designations"), ("header_wrong_column", "cost_rates"),
             ("header_extra_column", "fee_schedule"), ("header_missing_column", "partners"),
             ("encoding_invalid", "programs")]
    for kind, name in plans:
        for _ in range(book.count()):
            day = free_day(name)
            if day is None:
                break
            master_kind = s.CSV_KINDS_BY_NAME[f"master_{name}"]
            file = CsvFile(inbox_path(master_kind.name, day), master_kind, day, master_rows(world, name, day))
            expect_file = {"snapshot_in_force": "previous", "file_status": "rejected"}
            data = None
            if kind == "my_number_in_text":
                row = dict(rng.choice([r for r in file.rows if r["channel"] == "store"]))
                row["merchant_id"] = f"M99{rng.randrange(10**6):06d}"
                number = fake_my_number(rng)
                row[rng.choice(("name", "category"))] = f"{number[:4]}-{number[4:8]}-{number[8:]}"
                file.rows.append(row)
                entry = book.add("ingestion", kind, file.path, 0, day,
                                 {"row_status": "quarantined", "reason_code": Reason.MY_NUMBER_DETECTED.value,
                                  "snapshot_in_force": "this one, without the bad row"})
                book.row_refs.append((entry, file, row))
            elif kind in ("date_invalid", "date_out_of_range"):
                row = dict(rng.choice(file.rows))
                row["merchant_id"] = f"M99{rng.randrange(10**6):06d}"
                if kind == "date_invalid":
                    row["valid_from"] = f"{day.year}-02-30"
                else:
                    row["valid_from"], row["valid_to"] = day.isoformat(), (day - dt.timedelta(days=7)).isoformat()
                file.rows.append(row)
                reason = Reason.DATE_INVALID if kind == "date_invalid" else Reason.DATE_OUT_OF_RANGE
                entry = book.add("ingestion", kind, file.path, 0, day,
                                 {"row_status": "quarantined", "reason_code": reason.value,
                                  "snapshot_in_force": "this one, without the bad row"})
                book.row_refs.append((entry, file, row))
            elif kind.startswith("header_"):
                data = _broken_header(file, kind)
                book.add("ingestion", kind, file.path, 0, day,
                         {**expect_file, "reason_code": Reason.CSV_HEADER_INVALID.value})
            else:
                data = file.data().decode("utf-8").encode("cp932")
                book.add("ingestion", kind, file.path, 0, day,
                         {**expect_file, "reason_code": Reason.FILE_ENCODING_INVALID.value}, written_as="cp932")
            out.append((file, data))
    return out


def _broken_header(file: CsvFile, kind: str) -> bytes:
    text = file.data().decode("utf-8")
    header, _, body = text.partition("\n")
    names = header.split(",")
    if kind == "header_wrong_column":
        names[-1] = names[-1] + "_x"
    elif kind == "header_extra_column":
        names.append("memo")
        body = "".join(line + ",\n" for line in body.splitlines())
    else:
        index = len(names) - 1
        names.pop(index)
        body = "".join(",".join(line.split(",")[:index]) + "\n" for line in body.splitlines())
    return (",".join(names) + "\n" + body).encode("utf-8")


def partner_file_faults(book: FaultBook, csv_files: list[CsvFile]) -> list[tuple[CsvFile, bytes]]:
    """Conversion files under a free name (a day the partner sent none): a copy of a real one (rows become
    duplicates), one in UTF-8 with Japanese status words for a CP932 partner, one with a broken header."""
    world, rng = book.world, book.rng
    conversions = [f for f in csv_files if f.kind is s.PARTNER_CONVERSION]
    taken = {f.path for f in conversions}
    # A copy must repeat only valid rows, so that every row it holds is a duplicate: copy no faulty file.
    faulted = {e["path"] for e in book.entries}
    out: list[tuple[CsvFile, bytes]] = []
    for kind in ("duplicate_content_other_name", "encoding_invalid", "header_missing_column"):
        for _ in range(book.count()):
            options = [f for f in conversions if (kind != "encoding_invalid" or world.partner(
                f.path.split("/")[1]).encoding == "cp932")
                and (kind != "duplicate_content_other_name" or f.path not in faulted)]
            if not options:
                break
            source = rng.choice(options)
            code = source.path.split("/")[1]
            free = [world.date(i) for i in range(world.days) if world.date(i) > source.day
                    and inbox_path(s.PARTNER_CONVERSION.name, world.date(i), partner=code) not in taken]
            if not free:
                continue
            day = rng.choice(free)
            path = inbox_path(s.PARTNER_CONVERSION.name, day, partner=code)
            taken.add(path)
            if kind == "duplicate_content_other_name":
                data = source.data()
                book.add("ingestion", kind, path, 0, day, {"file_status": "loaded", "rows_status": "quarantined",
                                                           "reason_code": Reason.DUPLICATE_KEY.value,
                                                           "rows": len(source.rows)}, copy_of=source.path)
            else:
                rows = [{**r, "partner_txn_id": r["partner_txn_id"] + "-E"} for r in source.rows]
                file = CsvFile(path, s.PARTNER_CONVERSION, day, rows, "utf-8")
                if kind == "encoding_invalid":
                    rows[0]["status"] = "適用済み"  # UTF-8 bytes that CP932 cannot decode
                    data = file.data()
                    try:
                        data.decode("cp932")
                        continue
                    except UnicodeDecodeError:
                        pass
                else:
                    data = _broken_header(file, "header_missing_column")
                book.add("ingestion", kind, path, 0, day,
                         {"file_status": "rejected", "reason_code": (Reason.FILE_ENCODING_INVALID if kind ==
                                                                     "encoding_invalid" else
                                                                     Reason.CSV_HEADER_INVALID).value},
                         partner_encoding=world.partner(code).encoding)
            out.append((CsvFile(path, s.PARTNER_CONVERSION, day, []), data))
    return out


def redeliveries(book: FaultBook, files: Mapping[str, tuple[dt.date, bytes]]) -> None:
    """Same name again: identical (duplicate) or different (conflict), arriving under later/."""
    rng = book.rng
    faulted = {e["path"] for e in book.entries}
    names = sorted(p for p in files if p.startswith(("platform/ledger", "partner/")) and "conversion" not in p
                   and p not in faulted)
    rng.shuffle(names)
    for kind in ("duplicate_same_name", "conflict_same_name"):
        for _ in range(book.count()):
            if not names:
                break
            path = names.pop()
            day, data = files[path]
            arrives = book.later_day(day)
            if kind == "duplicate_same_name":
                book.later.append(Later(path, arrives, data))
                book.add("ingestion", kind, path, 0, arrives, {"file_status": "duplicate", "reason_code": None})
            else:
                changed = data.rstrip(b"\n") + b"\n" + data.split(b"\n")[1] + b"\n" if data.count(b"\n") > 1 \
                    else data + b"\n"
                book.later.append(Later(path, arrives, changed))
                book.add("ingestion", kind, path, 0, arrives,
                         {"file_status": "conflict", "reason_code": Reason.FILE_CONFLICTING_DUPLICATE.value})


# --- bank ----------------------------------------------------------------------------------------------------
def deposit_faults(book: FaultBook, deposits: list[Deposit]) -> list[Deposit]:
    """Partner short and double payments, acquirer net mismatches."""
    rng = book.rng
    result = list(deposits)
    for kind, prefix in (("partner_short_payment", "partner:"), ("partner_double_payment", "partner:"),
                         ("acquirer_net_mismatch", "acquirer:")):
        options = [d for d in result if d.ref.startswith(prefix) and d.amount > 1000]
        for _ in range(book.count()):
            if not options:
                break
            d = options.pop(rng.randrange(len(options)))
            i = result.index(d)
            if kind == "partner_double_payment":
                result.insert(i + 1, d)
                paid = 2 * d.amount
            else:
                paid = d.amount - rng.choice((100, 500, 1000))
                result[i] = Deposit(d.municipality_code, d.day, d.direction, paid, d.remitter_name, d.description,
                                    d.transaction_type, d.sending_bank, d.ref)
            book.add("reconciliation", kind, "", 0, d.day, {"break": kind}, municipality_code=d.municipality_code,
                     ref=d.ref, owed_yen=d.amount, paid_yen=paid, _bank=(d.municipality_code, d.day))
    return result


def zengin_faults(book: FaultBook, bank: list[BankFile]) -> None:
    rng = book.rng
    for entry in book.entries:
        target = entry.pop("_bank", None)
        if target:
            entry["path"] = next(f.path for f in bank if f.day == target[1] and
                                 f.statement.header.account_number == book.world.municipality(
                                     target[0]).account.account_number)
    options = list(bank)
    for kind, reason in (("zengin_trailer_mismatch", Reason.ZENGIN_TRAILER_MISMATCH),
                         ("zengin_balance_mismatch", Reason.ZENGIN_BALANCE_MISMATCH)):
        for _ in range(book.count()):
            if not options:
                break
            file = options.pop(rng.randrange(len(options)))
            if kind == "zengin_trailer_mismatch":
                file.trailer_overrides = {"credit_total": file.statement.credit_total + rng.choice((1, 100))}
            else:
                file.trailer_overrides = {"closing_balance": file.statement.closing_balance + 1000}
            book.add("ingestion", kind, file.path, 0, file.day,
                     {"file_status": "rejected", "reason_code": reason.value},
                     lines_lost=len(file.statement.lines))
