"""The simulated inbox: determinism, exact columns, valid rows, verifying terminal logs, card signatures,
balances equal to an independent recomputation, and faults that are what faults.json says."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from contracts import schemas as s
from contracts import terminal_log as tl
from contracts.inbox_names import match_path
from contracts.validation import InMemoryMasters, RowContext, validate_record
from contracts.zengin_statement import read_statement
from simulator import deliver, simulate

SMALL = {"start": dt.date(2026, 3, 28), "days": 6, "municipalities": 2, "residents": 90, "seed": 7}
INGESTION_KINDS = {
    "bad_check_digit", "my_number_in_id_field", "my_number_in_text", "required_field_empty", "amount_not_integer",
    "amount_signed", "amount_over_limit", "timestamp_without_offset", "unknown_merchant", "enum_invalid",
    "date_invalid", "date_out_of_range", "truncated_file", "header_wrong_column", "header_extra_column",
    "header_missing_column", "encoding_invalid", "duplicate_same_name", "conflict_same_name",
    "duplicate_content_other_name", "terminal_truncated", "terminal_chain_broken", "terminal_seal_forged",
    "terminal_fork", "forged_card_signature", "zengin_trailer_mismatch", "zengin_balance_mismatch",
}


def csv_files(root: Path) -> list[tuple[Path, s.FileKind, dict[str, str]]]:
    found = []
    for path in sorted(root.glob("*/**/*.csv")):
        relative = path.relative_to(root)
        if relative.parts[0] == "later":
            continue
        found_name = match_path(relative.parts)
        assert found_name, f"unknown file {relative}"
        found.append((path, s.CSV_KINDS_BY_NAME[found_name.kind], {"date": f"{found_name.business_date:%Y%m%d}",
                                                                  **found_name.parts}))
    return found


def encoding_of(root: Path, path: Path) -> str:
    world = json.loads((root / "world.json").read_text(encoding="utf-8"))
    encodings = {p["code"]: p["encoding"] for p in world["partners"]}
    relative = path.relative_to(root)
    return encodings[relative.parts[1]] if relative.parts[0] == "partner" else "utf-8"


def read_rows(root: Path, path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode(encoding_of(root, path))
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def masters_of(root: Path, skip: set[str] = frozenset()) -> InMemoryMasters:
    masters = InMemoryMasters()
    for path, kind, groups in csv_files(root):
        relative = path.relative_to(root).as_posix()
        if kind.source != "master" or relative in skip:
            continue
        day = dt.datetime.strptime(groups["date"], "%Y%m%d").date()
        header, rows = read_rows(root, path)
        key = {"master_municipalities": ("municipalities", "municipality_code"),
               "master_merchants": ("merchants", "merchant_id"),
               "master_partners": ("partners", "partner_code")}.get(kind.name)
        if key:
            masters.add_snapshot(key[0], day, [dict(zip(header, r, strict=True))[key[1]] for r in rows])
    return masters


def test_same_arguments_give_byte_identical_files(none_world: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate(again, faults="none", workers=2, **SMALL)
    first = {p.relative_to(none_world): p.read_bytes() for p in none_world.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_none_world_has_no_faults_and_every_row_is_valid(none_world: Path) -> None:
    truth = json.loads((none_world / "faults.json").read_text(encoding="utf-8"))
    assert truth["entries"] == [] and truth["faults"] == "none"
    assert not (none_world / "later").exists() or not any((none_world / "later").rglob("*.csv"))
    masters = masters_of(none_world)
    kinds_seen = set()
    for path, kind, groups in csv_files(none_world):
        header, rows = read_rows(none_world, path)
        assert tuple(header) == kind.column_names, path
        day = dt.datetime.strptime(groups["date"], "%Y%m%d").date()
        context = RowContext(day, masters)
        for number, row in enumerate(rows, start=2):
            typed, problems = validate_record(kind, header, row, context)
            assert problems == [], (path.name, number, problems)
        kinds_seen.add(kind.name)
    assert kinds_seen == {k.name for k in s.CSV_KINDS}


def load_terminal_keys(root: Path) -> dict[dt.date, dict[str, list[tuple[dt.date, dt.date | None, str]]]]:
    """Terminal key periods per snapshot date."""
    snapshots: dict[dt.date, dict[str, list]] = {}
    for path, kind, groups in csv_files(root):
        if kind is s.MASTER_TERMINALS:
            keys = snapshots.setdefault(dt.datetime.strptime(groups["date"], "%Y%m%d").date(), {})
            header, rows = read_rows(root, path)
            for r in rows:
                row = dict(zip(header, r, strict=True))
                keys.setdefault(row["terminal_id"], []).append((
                    dt.date.fromisoformat(row["active_from"]),
                    dt.date.fromisoformat(row["active_to"]) if row["active_to"] else None, row["public_key"]))
    return snapshots


def key_on(snapshots: dict, terminal_id: str, day: dt.date) -> ed25519.Ed25519PublicKey | None:
    in_force = snapshots[max(d for d in snapshots if d <= day)]
    for start, end, public in in_force.get(terminal_id, []):
        if start <= day and (end is None or day <= end):
            return tl.load_terminal_public_key(public)
    return None


def load_certs(root: Path) -> dict[str, tuple[str, object]]:
    certs = {}
    for path in sorted((root / "platform").glob("mykey_certs_*.csv")):
        header, rows = read_rows(root, path)
        for r in rows:
            row = dict(zip(header, r, strict=True))
            cert = x509.load_der_x509_certificate(base64.b64decode(row["cert_der"]))
            assert f"{cert.serial_number:x}" == row["cert_serial"]
            certs[row["cert_serial"]] = (row["mykey_id"], cert.public_key())
    return certs


def test_terminal_logs_verify_link_across_files_and_card_signatures_verify(none_world: Path) -> None:
    keys = load_terminal_keys(none_world)
    certs = load_certs(none_world)
    files = sorted((none_world / "terminal").rglob("*.jsonl"))
    assert files
    last_seal: dict[str, dict] = {}
    records_checked = 0
    for path in files:
        terminal_id = path.parent.name
        lines = [json.loads(text) for _, text in tl.iter_json_lines(path.read_bytes())]
        day = dt.datetime.strptime(path.name.split("_")[1], "%Y%m%d").date()
        assert tl.verify_chain(lines, key_on(keys, terminal_id, day)) == []
        previous = last_seal.get(terminal_id)
        assert lines[0]["prev_hash"] == (previous["hash"] if previous else tl.GENESIS_HASH)
        assert lines[0]["seq"] == (previous["seq"] + 1 if previous else 1)
        last_seal[terminal_id] = lines[-1]
        for record in lines[:-1]:
            mykey_id, public = certs[record["card_cert_serial"]]
            assert mykey_id == record["mykey_id"]
            assert tl.verify_card_signature(public, record)
            records_checked += 1
    assert records_checked > 50


def test_terminal_records_match_the_ledger(none_world: Path) -> None:
    ledger = {}
    for path in sorted((none_world / "platform").glob("ledger_*.csv")):
        header, rows = read_rows(none_world, path)
        for r in rows:
            row = dict(zip(header, r, strict=True))
            if row["channel"] == "terminal":
                ledger[row["auth_id"]] = row
    logged = {}
    for path in sorted((none_world / "terminal").rglob("*.jsonl")):
        for _, text in tl.iter_json_lines(path.read_bytes()):
            record = json.loads(text)
            if record["type"] != "seal":
                logged[record["auth_id"]] = record
    assert logged.keys() == ledger.keys()
    for auth_id, record in logged.items():
        row = ledger[auth_id]
        assert (record["type"], record["amount"], record["merchant_id"], record["terminal_id"], record["ts"]) == (
            row["event_type"], int(row["amount"]), row["merchant_id"], row["terminal_id"], row["event_ts"])


def test_balances_equal_an_independent_fifo_recomputation(none_world: Path) -> None:
    programs = {}
    header, rows = read_rows(none_world, sorted((none_world / "master").glob("programs_*.csv"))[0])
    for r in rows:
        row = dict(zip(header, r, strict=True))
        programs[row["program_code"]] = row["expiry"]

    def expiry(rule: str, day: dt.date) -> dt.date | None:
        if rule == "none":
            return None
        name, number = rule.split(":")
        if name == "days":
            return day + dt.timedelta(days=int(number))
        fy = day.year if day.month >= 4 else day.year - 1
        return dt.date(fy + int(number) + 1, 3, 31)

    lots: dict[str, dict] = {}      # event_id -> lot
    uses: dict[str, list] = {}      # use event_id -> [[lot id, consumed, restored]]
    for path in sorted((none_world / "platform").glob("ledger_*.csv")):
        day = dt.datetime.strptime(path.stem.split("_")[1], "%Y%m%d").date()
        header, rows = read_rows(none_world, path)
        for r in rows:
            e = dict(zip(header, r, strict=True))
            amount = int(e["amount"])
            owner = (e["municipality_code"], e["mykey_id"])
            if e["event_type"] in ("grant", "charge") or (e["event_type"] == "adjust" and amount > 0):
                lots[e["event_id"]] = {"owner": owner, "program": e["program_code"], "left": amount,
                                       "exp": expiry(programs[e["program_code"]], day), "ts": e["event_ts"],
                                       "id": e["event_id"]}
                continue
            if e["event_type"] == "cancel":
                left = amount
                for part in reversed(uses[e["cancel_of"]]):
                    give = min(left, part[1] - part[2])
                    part[2] += give
                    lots[part[0]]["left"] += give
                    left -= give
                continue
            if e["event_type"] == "expire":
                lot = lots[e["lot_event_id"]]
                assert lot["left"] == amount and lot["exp"] is not None and lot["exp"] <= day
                lot["left"] = 0
                continue
            mine = [lot for lot in lots.values() if lot["owner"] == owner and lot["left"] > 0
                    and (lot["exp"] is None or lot["exp"] >= day)
                    and (e["event_type"] == "use" or lot["program"] == e["program_code"])]
            mine.sort(key=lambda lot: (lot["exp"] is None, lot["exp"] or dt.date.max, lot["ts"], lot["id"]))
            left = abs(amount)
            parts = []
            for lot in mine:
                take = min(left, lot["left"])
                if take:
                    lot["left"] -= take
                    left -= take
                    parts.append([lot["id"], take, 0])
            assert left == 0, e
            uses[e["event_id"]] = parts
        expected: dict[tuple, int] = {}
        for lot in lots.values():
            assert lot["exp"] is None or lot["exp"] > day or lot["left"] == 0
            if lot["exp"] is None or lot["exp"] > day:
                key = (lot["owner"][0], lot["program"], lot["owner"][1])
                expected[key] = expected.get(key, 0) + lot["left"]
        header, rows = read_rows(none_world, none_world / "platform" / f"balances_{day:%Y%m%d}.csv")
        reported = {(r[0], r[1], r[2]): int(r[3]) for r in rows}
        assert reported == expected, day


def test_bank_statements_read_back_and_chain_balances(none_world: Path) -> None:
    closing: dict[str, int] = {}
    files = sorted((none_world / "bank").rglob("*.txt"), key=lambda p: p.name)
    assert files
    for path in files:
        day = dt.datetime.strptime(path.stem.split("_")[-1], "%Y%m%d").date()
        result = read_statement(path.read_bytes(), day)
        assert result.statement is not None, result
        account = path.stem.rsplit("_", 1)[0]
        if account in closing:
            assert result.statement.header.opening_balance == closing[account]
        closing[account] = result.statement.closing_balance


def test_typical_world_has_every_ingestion_kind_and_row_faults_fail_first_as_expected(typical_world: Path) -> None:
    truth = json.loads((typical_world / "faults.json").read_text(encoding="utf-8"))
    entries = truth["entries"]
    assert {e["kind"] for e in entries if e["layer"] == "ingestion"} == INGESTION_KINDS
    assert len({e["id"] for e in entries}) == len(entries)
    skip = {e["path"] for e in entries if e["path"].startswith("master/")}
    masters = masters_of(typical_world, skip)
    checked = 0
    for e in entries:
        path = typical_world / e["path"]
        if e["layer"] != "ingestion" or not e["path"].endswith(".csv") or e["line_number"] == 0:
            continue
        if e["kind"] == "duplicate_same_name" or e["kind"] == "conflict_same_name":
            continue
        found_name = match_path(Path(e["path"]).parts)
        assert found_name is not None
        kind, day = s.CSV_KINDS_BY_NAME[found_name.kind], found_name.business_date
        text = path.read_bytes().decode(encoding_of(typical_world, path))
        rows = list(csv.reader(io.StringIO(text)))
        _, problems = validate_record(kind, rows[0], rows[e["line_number"] - 1], RowContext(day, masters))
        assert problems and problems[0].code == e["expect"]["reason_code"], (e, problems)
        checked += 1
    assert checked >= 10


def test_typical_world_whole_file_faults(typical_world: Path) -> None:
    truth = json.loads((typical_world / "faults.json").read_text(encoding="utf-8"))
    keys = load_terminal_keys(typical_world)
    for e in truth["entries"]:
        path = typical_world / e["path"]
        reason = e["expect"].get("reason_code")
        if e["kind"] in ("zengin_trailer_mismatch", "zengin_balance_mismatch"):
            day = dt.date.fromisoformat(e["arrives"])
            result = read_statement(path.read_bytes(), day)
            assert result.statement is None and result.problems[0].code == reason
        elif e["kind"] in ("terminal_chain_broken", "terminal_seal_forged"):
            lines = [json.loads(t) for _, t in tl.iter_json_lines(path.read_bytes())]
            day = dt.date.fromisoformat(e["arrives"])
            problems = tl.verify_chain(lines, key_on(keys, path.parent.name, day))
            assert [p.code for p in problems] == [reason]
        elif e["kind"] == "terminal_truncated":
            with pytest.raises(json.JSONDecodeError):
                [json.loads(t) for _, t in tl.iter_json_lines(path.read_bytes())]
        elif e["kind"] == "encoding_invalid":
            expected = "utf-8" if e["path"].startswith("master/") else "cp932"
            with pytest.raises(UnicodeDecodeError):
                path.read_bytes().decode(expected)


def test_deliver_moves_late_files_once(typical_world: Path, tmp_path: Path) -> None:
    truth = json.loads((typical_world / "faults.json").read_text(encoding="utf-8"))
    late = [e for e in truth["entries"] if e["kind"] in ("file_late", "duplicate_same_name", "conflict_same_name")]
    assert late
    import shutil
    copy = tmp_path / "inbox"
    shutil.copytree(typical_world, copy)
    end = SMALL["start"] + dt.timedelta(days=40)
    first = deliver(copy, SMALL["start"])
    assert all((copy / "later").exists() for _ in first)
    delivered = deliver(copy, end)
    assert deliver(copy, end) == []
    assert {p.relative_to(copy).as_posix() for p in first + delivered} == {e["path"] for e in late}
    for e in late:
        if e["kind"] == "duplicate_same_name":
            assert (copy / e["path"]).read_bytes() == (typical_world / e["path"]).read_bytes()
        if e["kind"] == "conflict_same_name":
            assert (copy / e["path"]).read_bytes() != (typical_world / e["path"]).read_bytes()


def test_typical_world_rows_outside_the_faults_are_valid(typical_world: Path) -> None:
    truth = json.loads((typical_world / "faults.json").read_text(encoding="utf-8"))
    bad_lines = {(e["path"], e["line_number"]) for e in truth["entries"] if e["layer"] == "ingestion"}
    whole = {e["path"] for e in truth["entries"] if e["layer"] == "ingestion" and e["line_number"] == 0}
    masters = masters_of(typical_world, {e["path"] for e in truth["entries"] if e["path"].startswith("master/")})
    checked = 0
    for path, kind, groups in csv_files(typical_world):
        relative = path.relative_to(typical_world).as_posix()
        if relative in whole:
            continue
        header, rows = read_rows(typical_world, path)
        context = RowContext(dt.datetime.strptime(groups["date"], "%Y%m%d").date(), masters)
        for number, row in enumerate(rows, start=2):
            if (relative, number) in bad_lines:
                continue
            assert validate_record(kind, header, row, context)[1] == [], (relative, number)
            checked += 1
    assert checked > 1000


def test_typical_world_terminal_files_outside_the_faults_verify(typical_world: Path) -> None:
    truth = json.loads((typical_world / "faults.json").read_text(encoding="utf-8"))
    whole = {e["path"] for e in truth["entries"] if e["line_number"] == 0 and e["path"].startswith("terminal/")}
    keys = load_terminal_keys(typical_world)
    checked = 0
    for path in sorted((typical_world / "terminal").rglob("*.jsonl")):
        if path.relative_to(typical_world).as_posix() in whole:
            continue
        lines = [json.loads(t) for _, t in tl.iter_json_lines(path.read_bytes())]
        day = dt.datetime.strptime(path.name.split("_")[1], "%Y%m%d").date()
        assert tl.verify_chain(lines, key_on(keys, path.parent.name, day)) == [], path.name
        checked += 1
    assert checked > 10
