"""Power cuts at every step after signing, and uploads (directory and HTTPS) with failures and retries.

A power cut is a child process running the real agent that dies with os._exit at the chosen point
(crash_runner.py); the next command in a fresh process must leave seq gap-free, unrepeated, and the platform
and log in agreement. Uploaded files are checked with contracts.terminal_log and ingested by seisan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BALANCE_START, MUNICIPALITY, MYKEY, PIN, READER0, REPO_ROOT, TERMINAL, run_agent
from cryptography import x509

from contracts import terminal_log

pytestmark = pytest.mark.pcsc
RUNNER = Path(__file__).with_name("crash_runner.py")


def _records(state_dir: Path) -> list[dict]:
    path = state_dir / "log" / "current.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _balance(world) -> int:
    return world.platform.world.balances[(MUNICIPALITY, MYKEY)]


def _crash(point: str, terminal, world, amount: int) -> subprocess.CompletedProcess:
    argv = [sys.executable, str(RUNNER), point, "--state-dir", str(terminal.state_dir), "--lang", "en", "pay",
            "--amount", str(amount), "--reader", READER0, "--card-wait", "3", "--platform-url", world.url,
            "--platform-ca", str(world.tls.ca_pem)]
    return subprocess.run(argv, input=PIN + "\n", capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)


def test_power_cut_after_signing_before_writing(card_slot, terminal, world):
    card_slot.insert()
    assert _crash("after_sign", terminal, world, 300).returncode == 137
    assert not (terminal.state_dir / "log" / "pending.json").exists()
    assert _balance(world) == BALANCE_START                        # reserved, never committed
    assert [r.state for r in world.platform.reservations.values()] == ["reserved"]
    assert run_agent(terminal, world, "pay", "--amount", "300").code == 0
    assert [r["seq"] for r in _records(terminal.state_dir)] == [1]  # the lost signature did not use seq 1


def test_power_cut_after_write_ahead_before_commit(card_slot, terminal, world):
    card_slot.insert()
    assert _crash("after_pending", terminal, world, 300).returncode == 137
    pending = json.loads((terminal.state_dir / "log" / "pending.json").read_text())
    assert pending["seq"] == 1
    run = run_agent(terminal, world, "recover")
    assert run.code == 0 and "not_committed (seq 1)" in run.out
    assert world.platform.reservations[pending["auth_id"]].state == "voided"
    assert _balance(world) == BALANCE_START and _records(terminal.state_dir) == []
    assert run_agent(terminal, world, "pay", "--amount", "10").code == 0
    assert [r["seq"] for r in _records(terminal.state_dir)] == [1]


def test_power_cut_after_commit_before_the_log_line(card_slot, terminal, world):
    card_slot.insert()
    assert _crash("after_commit", terminal, world, 300).returncode == 137
    pending = json.loads((terminal.state_dir / "log" / "pending.json").read_text())
    assert _balance(world) == BALANCE_START - 300                   # the platform did commit
    assert run_agent(terminal, world, "recover").code == 0
    assert _records(terminal.state_dir) == [pending]              # exactly the signed, committed record
    assert run_agent(terminal, world, "pay", "--amount", "10").code == 0
    first, second = _records(terminal.state_dir)
    assert (first["seq"], second["seq"], second["prev_hash"]) == (1, 2, first["hash"])


def test_torn_last_line_is_cut_and_rewritten(card_slot, terminal, world):
    card_slot.insert()
    assert _crash("torn_line", terminal, world, 300).returncode == 137
    assert not (terminal.state_dir / "log" / "current.jsonl").read_bytes().endswith(b"\n")
    assert run_agent(terminal, world, "recover").code == 0
    [record] = _records(terminal.state_dir)
    assert record["seq"] == 1 and record["hash"] == terminal_log.record_hash(record)
    assert _balance(world) == BALANCE_START - 300


def test_pending_blocks_new_payments_while_the_platform_is_away(card_slot, terminal, world):
    card_slot.insert()
    assert _crash("after_commit", terminal, world, 300).returncode == 137
    world.server.stop()
    run = run_agent(terminal, world, "pay", "--amount", "10")
    assert run.code == 1 and "[pending_unresolved]" in run.err and run.pin_asked == 0
    assert (terminal.state_dir / "log" / "pending.json").exists()


def _terminal_key(terminal):
    return terminal_log.load_terminal_public_key(terminal.public_key_b64)


def _file_records(path: Path) -> list[dict]:
    return [json.loads(t) for _, t in terminal_log.iter_json_lines(path.read_bytes())]


def test_upload_to_a_directory_seals_and_chains_files(card_slot, terminal, world, card_set):
    card_slot.insert()
    for amount in (100, 200):
        assert run_agent(terminal, world, "pay", "--amount", str(amount)).code == 0
    assert run_agent(terminal, world, "upload", "--to", str(world.inbox)).code == 0
    folder = world.inbox / "terminal" / TERMINAL
    stamp = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).strftime("%Y%m%d")
    first = folder / f"{TERMINAL}_{stamp}_0001.jsonl"
    records = _file_records(first)
    assert [r["type"] for r in records] == ["use", "use", "seal"] and records[-1]["records"] == 2
    assert terminal_log.verify_chain(records, _terminal_key(terminal)) == []
    cert = x509.load_der_x509_certificate(card_set.files["valid"].cert_der.read_bytes())
    assert all(terminal_log.verify_card_signature(cert.public_key(), r) for r in records[:2])
    assert run_agent(terminal, world, "upload", "--to", str(world.inbox)).out.strip() == "Nothing to upload."
    assert run_agent(terminal, world, "pay", "--amount", "300").code == 0
    assert run_agent(terminal, world, "upload", "--to", str(world.inbox)).code == 0
    second = _file_records(folder / f"{TERMINAL}_{stamp}_0002.jsonl")
    assert second[0]["seq"] == 4 and second[0]["prev_hash"] == records[-1]["hash"]   # seal took seq 3
    assert terminal_log.verify_chain(second, _terminal_key(terminal)) == []


def test_upload_over_https_retries_then_delivers_once(card_slot, terminal, world):
    card_slot.insert()
    assert run_agent(terminal, world, "pay", "--amount", "100").code == 0
    world.platform.fail_uploads = 50
    failed = run_agent(terminal, world, "upload", "--to", world.url, "--attempts", "3", "--backoff", "0.01")
    assert failed.code == 1 and "[upload_failed]" in failed.err
    [kept] = list((terminal.state_dir / "outbox").iterdir())
    kept_sha = hashlib.sha256(kept.read_bytes()).hexdigest()
    world.platform.fail_uploads = 2                                  # two more failures, then success
    run = run_agent(terminal, world, "upload", "--to", world.url, "--attempts", "4", "--backoff", "0.01")
    assert run.code == 0, run.err
    delivered = list((world.inbox / "terminal" / TERMINAL).iterdir())
    assert [p.name for p in delivered] == [kept.name]
    assert hashlib.sha256(delivered[0].read_bytes()).hexdigest() == kept_sha   # the same bytes, sealed once
    assert list((terminal.state_dir / "outbox").iterdir()) == []


def test_upload_never_overwrites_a_different_file(card_slot, terminal, world):
    card_slot.insert()
    assert run_agent(terminal, world, "pay", "--amount", "100").code == 0
    stamp = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).strftime("%Y%m%d")
    folder = world.inbox / "terminal" / TERMINAL
    folder.mkdir(parents=True)
    (folder / f"{TERMINAL}_{stamp}_0001.jsonl").write_text("something else\n")
    run = run_agent(terminal, world, "upload", "--to", str(world.inbox))
    assert run.code == 1 and "[upload_conflict]" in run.err
    assert (folder / f"{TERMINAL}_{stamp}_0001.jsonl").read_text() == "something else\n"
    assert len(list((terminal.state_dir / "outbox").iterdir())) == 1


def test_uploaded_logs_are_ingested_by_seisan(card_slot, terminal, world, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    from ingestion.run import ingest

    card_slot.insert()
    assert run_agent(terminal, world, "pay", "--amount", "1500").code == 0
    use = _records(terminal.state_dir)[0]
    assert run_agent(terminal, world, "cancel", "--auth-id", use["auth_id"], "--amount", "500").code == 0
    assert run_agent(terminal, world, "upload", "--to", world.url).code == 0
    con = duckdb.connect(":memory:")
    ingest(con, world.inbox, tmp_path / "raw", world.date)
    rows = con.execute("select seq, type, amount, mykey_id, auth_id from raw.terminal_records order by seq").fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(1, "use", 1500, MYKEY), (2, "cancel", 500, MYKEY)]
    assert rows[0][4] == use["auth_id"]
    terminal_quarantine = con.execute(
        "select reason_code from raw.quarantine where source = 'terminal'").fetchall()
    assert terminal_quarantine == []
    [(status,)] = con.execute("select status from raw.file_manifest where source = 'terminal'").fetchall()
    assert status == "loaded"
