"""Terminal logs: verification, card signatures, certificates, gaps, forks and duplicates. Every case runs twice:
decided in process, and with the run's pool checking the files ahead (ingestion.terminal_checks), where a file
the pool clears is decided at its turn by the checks left to the main process and any other by the in-process
path."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from ingestion_builders import (
    CERT_SERIAL,
    MERCHANT,
    TERMINAL,
    TERMINAL_KEY,
    D,
    accounting_holds,
    cert_row,
    csv_of,
    manifest,
    quarantine,
    run,
    terminal_bytes,
    terminal_records,
    write,
    write_certs,
    write_terminal,
)

import ingestion.card_signatures as card_signatures
from contracts import terminal_log
from simulator.keys import ed25519_key, rsa_key

GENESIS = terminal_log.GENESIS_HASH


def path_of(upload: int, day: dt.date = D) -> str:
    return f"terminal/{TERMINAL}/{TERMINAL}_{day.strftime('%Y%m%d')}_{upload:04d}.jsonl"


def gaps(con):
    return con.execute(
        "SELECT missing_from_seq, missing_to_seq, status FROM raw.terminal_seq_gaps ORDER BY 1, 2, 3"
    ).fetchall()


@pytest.fixture(autouse=True, params=["in_process", "pool"])
def terminal_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pool":
        monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)  # every run with terminal logs has a pool
    return str(request.param)


@pytest.fixture
def certs(tmp):
    write_certs(tmp / "inbox", [cert_row()])
    return tmp


def test_good_files_load_records_and_seals(con, certs):
    first = terminal_records(1, 3, GENESIS)
    write_terminal(certs / "inbox", first, 1)
    write_terminal(certs / "inbox", terminal_records(5, 2, first[-1]["hash"]), 2)
    run(con, certs)
    assert con.execute(
        "SELECT seq, amount, line_number FROM raw.terminal_records ORDER BY seq"
    ).fetchall() == [(1, 101, 1), (2, 102, 2), (3, 103, 3), (5, 105, 1), (6, 106, 2)]
    assert con.execute(
        "SELECT seq, first_seq, records, upload_number FROM raw.terminal_seals ORDER BY seq"
    ).fetchall() == [(4, 1, 3, 1), (7, 5, 2, 2)]
    assert gaps(con) == [] and accounting_holds(con)


def test_bad_card_signature_and_unregistered_cert_are_quarantined_alone(con, certs):
    records = terminal_records(1, 1, GENESIS)
    other_card = terminal_records(2, 1, records[0]["hash"], card_key=rsa_key("tests/ingestion/other", 1024))
    unknown_cert = terminal_records(3, 1, other_card[0]["hash"], serial=0xBEEF)
    chain = [records[0], other_card[0], unknown_cert[0]]
    chain.append(
        terminal_log.make_seal(
            TERMINAL,
            4,
            "2026-11-25T20:00:00+09:00",
            3,
            chain[-1]["hash"],
            __import__("ingestion_builders").TERMINAL_KEY,
        )
    )
    write_terminal(certs / "inbox", chain, 1)
    run(con, certs)
    assert quarantine(con, path_of(1)) == [
        (2, "terminal_card_signature_invalid"),
        (3, "terminal_cert_not_valid"),
    ]
    assert manifest(con, path_of(1)) | {} == dict(
        status="loaded", read=4, loaded=2, quarantined=2, reason=None, count=1
    )


def _reissue_and_a_terminal_log_on_d(inbox) -> list[tuple[int, str]]:
    """Deliver the certificate's reissue at 11:00:30 on D and a log of 40 uses signed with it at 11:00:01-40;
    the quarantine rows expected: records at or after the reissue (seq 30..40) used the superseded certificate."""
    write_certs(
        inbox,
        [cert_row("reissued", serial=0x9999, ts="2026-11-25T11:00:30+09:00", previous=f"{CERT_SERIAL:x}")],
        day=D,
    )
    write_terminal(inbox, terminal_records(1, 40, GENESIS), 1)
    return [(line, "terminal_cert_not_valid") for line in range(30, 41)]


def test_revoked_and_superseded_certificates(con, tmp):
    inbox = tmp / "inbox"
    write_certs(inbox, [cert_row()])
    expected = _reissue_and_a_terminal_log_on_d(inbox)
    run(con, tmp)
    assert quarantine(con, path_of(1)) == expected


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r[1].update(amount=999), "terminal_hash_mismatch"),
        (lambda r: r.pop(), "terminal_seal_missing"),
        (lambda r: r[-1].update(term_sig=r[0]["card_sig"][:88]), "terminal_seal_signature_invalid"),
        (lambda r: r[0].pop("auth_id"), "terminal_record_invalid"),
    ],
)
def test_whole_file_problems(con, certs, mutate, reason):
    records = terminal_records(1, 3, GENESIS)
    mutate(records)
    write_terminal(certs / "inbox", records, 1)
    run(con, certs)
    assert manifest(con, path_of(1))["reason"] == reason
    assert manifest(con, path_of(1))["quarantined"] == len(records)
    assert con.execute("SELECT count(*) FROM raw.terminal_records").fetchone()[0] == 0
    assert accounting_holds(con)


def test_json_invalid_and_terminal_mismatch(con, certs):
    write(certs / "inbox", path_of(1), terminal_bytes(terminal_records(1, 1, GENESIS)) + b"{torn\n")
    other = terminal_records(1, 1, GENESIS)
    write(certs / "inbox", "terminal/T00000002/T00000002_20261125_0001.jsonl", terminal_bytes(other))
    run(con, certs)
    assert manifest(con, path_of(1))["reason"] == "terminal_json_invalid"
    assert (
        manifest(con, "terminal/T00000002/T00000002_20261125_0001.jsonl")["reason"] == "terminal_id_mismatch"
    )


def test_gap_opens_then_resolves_when_the_missing_file_arrives(con, certs):
    inbox = certs / "inbox"
    first = terminal_records(1, 2, GENESIS)
    middle = terminal_records(4, 2, first[-1]["hash"])
    last = terminal_records(7, 2, middle[-1]["hash"])
    write_terminal(inbox, first, 1)
    write_terminal(inbox, last, 3)
    run(con, certs)
    assert gaps(con) == [(4, 6, "open")]
    assert manifest(con, path_of(3))["status"] == "loaded"
    write_terminal(inbox, middle, 2)
    run(con, certs, dt.date(2026, 11, 26))
    assert gaps(con) == [(4, 6, "resolved")]
    assert con.execute("SELECT count(*) FROM raw.terminal_records").fetchone()[0] == 6


def test_fork_is_quarantined_whole(con, certs):
    inbox = certs / "inbox"
    first = terminal_records(1, 2, GENESIS)
    write_terminal(inbox, first, 1)
    write_terminal(inbox, terminal_records(4, 2, "ab" * 32), 2)  # expected seq, wrong link
    run(con, certs)
    assert manifest(con, path_of(2)) | {} == dict(
        status="rejected", read=3, loaded=0, quarantined=3, reason="terminal_fork", count=1
    )
    assert gaps(con) == []


def test_renamed_copy_repeats_seqs_as_duplicates(con, certs):
    inbox = certs / "inbox"
    records = terminal_records(1, 2, GENESIS)
    write_terminal(inbox, records, 1)
    run(con, certs)
    write_terminal(inbox, records, 2)  # same bytes, another upload number
    run(con, certs)
    assert quarantine(con, path_of(2)) == [(1, "duplicate_key"), (2, "duplicate_key"), (3, "duplicate_key")]
    assert con.execute("SELECT count(*) FROM raw.terminal_records").fetchone()[0] == 2
    assert accounting_holds(con)


def test_unknown_terminal_key(con, certs):
    day = dt.date(2025, 12, 1)  # before the terminal's active_from
    write_terminal(certs / "inbox", terminal_records(1, 1, GENESIS, day=day), 1, day=day)
    run(con, certs)
    assert manifest(con, path_of(1, dt.date(2025, 12, 1)))["reason"] == "terminal_key_unknown"


def test_seal_dated_far_from_the_business_date_rejects_the_file(con, certs):
    records = terminal_records(1, 1, GENESIS, day=dt.date(2029, 6, 1))  # records and seal in 2029
    write_terminal(certs / "inbox", records, 1)  # named for D = 2026-11-25
    run(con, certs)
    assert manifest(con, path_of(1)) | {} == dict(
        status="rejected", read=2, loaded=0, quarantined=2, reason="date_out_of_range", count=1
    )
    assert con.execute("SELECT count(*) FROM raw.terminal_seals").fetchone()[0] == 0
    assert accounting_holds(con)


def test_record_dated_far_from_the_business_date_is_quarantined_alone(con, certs):
    old = dt.date(2025, 10, 20)  # D - 401 days; D - 400 (2025-10-21) would still be in the window
    records = terminal_records(1, 1, GENESIS, day=old)[:1]  # seq 1, without its seal
    records.insert(1, terminal_records(2, 1, records[0]["hash"])[0])  # seq 2 on D itself
    seal = terminal_log.make_seal(
        TERMINAL, 3, f"{D.isoformat()}T20:00:00+09:00", 2, records[-1]["hash"], TERMINAL_KEY
    )
    write(certs / "inbox", path_of(1), terminal_bytes([*records, seal]))
    run(con, certs)
    assert quarantine(con, path_of(1)) == [(1, "date_out_of_range")]
    assert con.execute("SELECT seq FROM raw.terminal_records").fetchall() == [(2,)]
    assert con.execute("SELECT seq FROM raw.terminal_seals").fetchall() == [(3,)]
    assert accounting_holds(con)


# --- hostile terminal JSONL: a coded verdict per file, never an exception; personal numbers only masked ----
MY_NUMBER = "123456789018"  # a valid My Number check digit (11 - 80 mod 11 = 8)


def _good_lines() -> list[bytes]:
    return terminal_bytes(terminal_records(1, 2, GENESIS)).splitlines(keepends=True)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda lines: [b"[1,2,3]\n", *lines], "terminal_record_invalid"),  # array where an object is due
        (lambda lines: [b'"use"\n', *lines], "terminal_record_invalid"),
        (lambda lines: [lines[0].replace(b'"A1"', b'{"x":1}'), *lines[1:]], "terminal_record_invalid"),
        (lambda lines: [lines[0].replace(b'"amount":101', b'"amount":101.0'), *lines[1:]], "terminal_record_invalid"),
        (lambda lines: [lines[0].replace(b'"seq":1', b'"seq":true'), *lines[1:]], "terminal_record_invalid"),
        (lambda lines: [b"[" * 20_000 + b"]" * 20_000 + b"\n", *lines], "terminal_line_too_long"),
        (lambda lines: [b"[" * 5_000 + b"]" * 5_000 + b"\n", *lines], "terminal_json_invalid"),
        (lambda lines: [lines[0].replace(b'"seq":1', b'"seq":' + b"9" * 40), *lines[1:]], "terminal_json_invalid"),
        (lambda lines: [lines[0].replace(b'"amount":101', b'"amount":NaN'), *lines[1:]], "terminal_json_invalid"),
        (lambda lines: [lines[0].replace(b'"seq":1', b'"seq":1,"seq":1'), *lines[1:]], "terminal_json_invalid"),
        (lambda lines: [lines[0].replace(b'"A1"', b'"A\xff1"'), *lines[1:]], "terminal_json_invalid"),
        (lambda lines: [b"\xef\xbb\xbf" + lines[0], *lines[1:]], "terminal_json_invalid"),
        (lambda lines: [lines[0].replace(b'"v":1', b'"v":1,"\\ud800":1'), *lines[1:]], "terminal_record_invalid"),
        (lambda lines: [b'{"type":"use","pad":"' + b"x" * 10_000_000 + b'"}\n', *lines], "terminal_line_too_long"),
    ],
)
def test_hostile_terminal_files_are_rejected_with_a_reason(con, certs, make, reason):
    lines = make(_good_lines())
    write(certs / "inbox", path_of(1), b"".join(lines))
    run(con, certs)
    row = manifest(con, path_of(1))
    count = len(lines)
    assert (row["status"], row["reason"], row["read"], row["quarantined"]) == ("rejected", reason, count, count)
    assert con.execute("SELECT count(*) FROM raw.terminal_records").fetchone()[0] == 0
    assert accounting_holds(con)


def _dump_warehouse(con) -> str:
    from ingestion_builders import all_tables

    return repr(all_tables(con))


def test_escaped_personal_number_is_quarantined_and_stored_only_masked(con, certs):
    from ingestion_builders import resign_terminal_records

    records = terminal_records(1, 2, GENESIS)
    records[1]["auth_id"] = "１２３４-５６７８-９０１８"  # full-width digits: NFKC makes it a My Number
    records[0]["auth_id"] = MY_NUMBER
    signed = resign_terminal_records(records)
    escaped = terminal_bytes(signed).replace(
        f'"{MY_NUMBER}"'.encode(), ('"' + "".join(f"\\u{ord(c):04x}" for c in MY_NUMBER) + '"').encode()
    )
    write(certs / "inbox", path_of(1), escaped)
    run(con, certs)
    assert quarantine(con, path_of(1)) == [(1, "my_number_detected"), (2, "my_number_detected")]
    assert manifest(con, path_of(1))["status"] == "loaded"  # the seal loads; the records are quarantined alone
    stored = con.execute("SELECT raw_text FROM raw.quarantine WHERE path = ? ORDER BY line_number",
                         [path_of(1)]).fetchall()
    assert all(json.loads(text)["auth_id"] == "************" for (text,) in stored)
    dump = _dump_warehouse(con)
    assert MY_NUMBER not in dump and "１２３４" not in dump and "\\u0031" not in dump
    assert accounting_holds(con)


def test_personal_number_in_a_file_rejected_whole_is_masked_too(con, certs):
    from ingestion_builders import resign_terminal_records

    records = terminal_records(1, 1, GENESIS)
    records[0]["auth_id"] = MY_NUMBER
    signed = resign_terminal_records(records)
    signed[0]["amount"] = 999  # the hash no longer recomputes: the file is rejected whole
    escaped = terminal_bytes(signed).replace(
        f'"{MY_NUMBER}"'.encode(), ('"' + "".join(f"\\u{ord(c):04x}" for c in MY_NUMBER) + '"').encode()
    )
    write(certs / "inbox", path_of(1), escaped)
    run(con, certs)
    assert manifest(con, path_of(1))["reason"] == "terminal_hash_mismatch"
    assert MY_NUMBER not in _dump_warehouse(con)


def test_identifiers_others_assign_take_any_text(con, certs):
    from ingestion_builders import resign_terminal_records

    records = terminal_records(1, 2, GENESIS)
    records[0]["auth_id"] = "承認 #0001/ｱ-β ★"
    records[1]["auth_id"] = "x" * 128
    write(certs / "inbox", path_of(1), terminal_bytes(resign_terminal_records(records)))
    run(con, certs)
    assert con.execute("SELECT auth_id FROM raw.terminal_records ORDER BY seq").fetchall() == [
        ("承認 #0001/ｱ-β ★",), ("x" * 128,)]


def test_amount_over_the_cap_is_quarantined_alone(con, certs):
    from ingestion_builders import resign_terminal_records

    records = terminal_records(1, 2, GENESIS)
    records[0]["amount"] = 10_000_001
    records[1]["amount"] = 10_000_000
    write(certs / "inbox", path_of(1), terminal_bytes(resign_terminal_records(records)))
    run(con, certs)
    assert quarantine(con, path_of(1)) == [(1, "amount_out_of_range")]
    assert con.execute("SELECT amount FROM raw.terminal_records").fetchall() == [(10_000_000,)]


def test_seq_is_bounded_so_seq_plus_one_still_fits(con, certs):
    from ingestion_builders import resign_terminal_records

    from contracts.limits import BIGINT_MAX

    top = terminal_records(BIGINT_MAX - 2, 1, GENESIS)  # record at 2^63-3, seal at 2^63-2: loads, opens a gap
    top[0]["amount"] = 100  # the builder's amount is 100 + seq
    write_terminal(certs / "inbox", resign_terminal_records(top), 1)
    over = terminal_records(1, 1, GENESIS)
    over[0]["seq"] = BIGINT_MAX - 1
    write_terminal(certs / "inbox", resign_terminal_records(over), 2)  # its seal would be 2^63-1: refused
    run(con, certs)
    assert manifest(con, path_of(1))["status"] == "loaded"
    assert gaps(con) == [(1, BIGINT_MAX - 3, "open")]
    assert manifest(con, path_of(2))["reason"] == "terminal_record_invalid"
    assert accounting_holds(con)


@pytest.mark.parametrize("signed_with, status, reason", [("old", "loaded", None),
                                                         ("new", "rejected", "terminal_seal_signature_invalid")])
def test_a_seal_is_verified_with_the_key_in_force_on_its_own_day(con, certs, signed_with, status, reason):
    """The terminal's key changes on D. A file named for D whose seal is dated D-1 verifies with the key in force
    on D-1, not with the one in force on the file's date (which the pool's workers try first)."""
    new_key = ed25519_key("tests/ingestion/terminal-rotated")
    before = D - dt.timedelta(days=1)
    keys = [dict(terminal_id=TERMINAL, merchant_id=MERCHANT, public_key=terminal_log.terminal_public_key_b64(key),
                 active_from=active_from, active_to=active_to)
            for key, active_from, active_to in [(TERMINAL_KEY, "2026-01-01", before.isoformat()),
                                                (new_key, D.isoformat(), "")]]
    write(certs / "inbox", "master/terminals_20261102.csv", csv_of("master_terminals", keys))
    records = terminal_records(1, 2, GENESIS, day=before)
    if signed_with == "new":
        seal = records[-1]
        records[-1] = terminal_log.make_seal(TERMINAL, seal["seq"], seal["ts"], seal["records"], seal["prev_hash"],
                                             new_key)
    write_terminal(certs / "inbox", records, 1)  # named for D
    run(con, certs)
    assert (manifest(con, path_of(1))["status"], manifest(con, path_of(1))["reason"]) == (status, reason)
    assert con.execute("SELECT count(*) FROM raw.terminal_records").fetchone()[0] == (2 if status == "loaded" else 0)
    assert accounting_holds(con)


def test_a_reissue_delivered_with_the_terminal_log_counts_when_the_certificate_was_loaded_before(con, tmp):
    """The certificate is committed by an earlier run; the reissue that supersedes it comes in the same run as the
    terminal log. The pool must check the log against the certificates as committed after the reissue: the
    records signed at or after it are quarantined (a pool handed the log before the certificates' batch would
    have cleared them)."""
    inbox = tmp / "inbox"
    write_certs(inbox, [cert_row()])
    run(con, tmp, day=dt.date(2026, 11, 2))
    expected = _reissue_and_a_terminal_log_on_d(inbox)
    run(con, tmp)
    assert quarantine(con, path_of(1)) == expected
    assert accounting_holds(con)
