"""`seisan payments prepare | approve | verify | export`, the approval requests the DAG shows, `seisan run`'s
command-line decision, and the DAG's export step, on a SEISAN_HOME with hand-made batches."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import payfile_builders as b
import pytest

from seisan.cli_payments_file import add_officer_commands, add_payments_file_commands
from seisan.config import load_settings
from seisan.payments_file_steps import (
    approval_requests,
    decide_on_command_line,
    export_step,
    payments_dir,
    prepare_payment_files,
)


@pytest.fixture
def home(seisan_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    officers = b.make_officers(tmp_path / "officers")
    monkeypatch.setenv("SEISAN_PAYMENTS_OFFICERS_FILE", str(officers.registry_path))
    monkeypatch.setenv("SEISAN_OFFICER_KEY_DIR", str(officers.key_dir))
    monkeypatch.setenv("SEISAN_OFFICER_ID", "OFF-SATO")
    monkeypatch.setenv("SEISAN_PAYMENTS_EXPORT_DIR", str(tmp_path / "bank-outbox"))
    settings = load_settings()
    prepared = prepare_payment_files(settings, b.BUSINESS_DATE, "OFF-SATO", batches=[b.small_batch(), b.big_batch(1)])
    assert [p.municipality_code for p in prepared] == ["271004", "131016"]  # in batch id order: B-001, B-131…
    return settings, {p.municipality_code: p.path for p in prepared}


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="seisan")
    commands = parser.add_subparsers(dest="command", required=True)
    add_officer_commands(commands)
    add_payments_file_commands(commands.add_parser("payments").add_subparsers(dest="sub", required=True))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_prepare_is_byte_identical_on_rerun(home):
    settings, files = home
    before = {p.name: p.read_bytes() for p in payments_dir(settings, b.BUSINESS_DATE).iterdir()}
    again = prepare_payment_files(settings, b.BUSINESS_DATE, "OFF-SATO", batches=[b.big_batch(1), b.small_batch()])
    assert [p.outcome for p in again] == ["unchanged", "unchanged"]
    assert {p.name: p.read_bytes() for p in payments_dir(settings, b.BUSINESS_DATE).iterdir()} == before


def test_prepare_by_another_preparer_does_not_overwrite(home):
    settings, _ = home
    with pytest.raises(ValueError, match="another preparer"):
        prepare_payment_files(settings, b.BUSINESS_DATE, "OFF-ITO", batches=[b.small_batch()])


def test_prepare_command_without_planning_says_so(home):
    with pytest.raises(FileNotFoundError, match="planning has nothing to plan"):
        run("payments", "prepare", "--date", "2026-11-30")


def test_approve_verify_export_commands(home, capsys, tmp_path):
    settings, files = home
    small, big = files["131016"], files["271004"]
    assert run("payments", "verify", str(small)) == 1
    assert "second signature" in capsys.readouterr().err
    assert run("payments", "approve", str(small), "--officer", "OFF-KATO") == 0
    assert run("payments", "approve", str(small), "--officer", "OFF-KATO") == 0
    assert "already approved" in capsys.readouterr().out
    assert run("payments", "approve", str(big)) == 1  # [officer] id is OFF-SATO, who prepared it
    assert "four eyes" in capsys.readouterr().err
    assert run("payments", "verify", str(small)) == 0

    outbox = tmp_path / "outbox"
    assert run("payments", "export", "--date", "2026-11-30", "--to", str(outbox)) == 1  # big is not approved
    captured = capsys.readouterr()
    assert f"handed over: {small.name}" in captured.out and big.name in captured.err
    assert sorted(p.name for p in outbox.iterdir()) == sorted([small.name, small.name.replace(".txt",
                                                                                              ".manifest.json")])
    assert run("payments", "export", "--date", "2026-11-30", "--to", str(outbox), "--municipality", "131016") == 0
    assert "already handed over earlier" in capsys.readouterr().out
    record = json.loads((payments_dir(settings, b.BUSINESS_DATE) / "exports.json").read_text(encoding="utf-8"))
    assert list(record) == [small.name]
    assert (record[small.name]["total"], record[small.name]["approved_by"]) == (128_016, "OFF-KATO")


def test_tampered_file_is_refused_by_the_verify_command(home, capsys):
    _, files = home
    path = files["131016"]
    path.write_bytes(path.read_bytes().replace(b"0000123456", b"0000923456"))
    assert run("payments", "verify", str(path)) == 1
    assert "payment_file_tampered" in capsys.readouterr().err


def test_approval_requests_show_the_payout_summary_per_municipality(home):
    settings, files = home
    requests = approval_requests(settings, b.BUSINESS_DATE)
    assert [r["municipality_code"] for r in requests] == ["131016", "271004"]
    body = requests[0]["body"]
    assert "128,016 yen" in body and "PO-20261202-0001" in body and "OFF-SATO" in body
    assert "fees 770 yen (municipality bears 330, merchants 440)" in body
    assert f"seisan payments approve {files['131016']}" in body
    assert "and 20 more" in requests[1]["body"]  # 40 payouts, 20 listed


def test_command_line_decision_approves_what_the_officer_says_yes_to(home):
    settings, files = home
    answers = iter(["y", "n"])
    said: list[str] = []
    approved = decide_on_command_line(settings, b.BUSINESS_DATE, "OFF-KATO", ask=lambda _: next(answers),
                                      say=said.append)
    assert approved == [files["131016"]]
    assert any("left 271004_" in line for line in said)


def test_export_step_hands_over_only_municipalities_answered_approve(home, tmp_path):
    settings, files = home
    for path in files.values():
        assert run("payments", "approve", str(path), "--officer", "OFF-KATO") == 0
    requests = approval_requests(settings, b.BUSINESS_DATE)
    decisions = [{"chosen_options": ["Approve"], "responded_by_user": {"id": "kato"}},
                 {"chosen_options": ["Reject"], "responded_by_user": {"id": "kato"}}]
    summary = export_step(b.BUSINESS_DATE, requests, decisions, settings)
    assert summary["exported"] == [files["131016"].name] and summary["rejected"] == ["271004"]
    assert sorted(p.name for p in settings.payments_export_dir.glob("*.txt")) == [files["131016"].name]
    record = json.loads((payments_dir(settings, b.BUSINESS_DATE) / "exports.json").read_text(encoding="utf-8"))
    assert record[files["131016"].name]["decided_by"] == "kato"
    assert [r["municipality_code"] for r in approval_requests(settings, b.BUSINESS_DATE)] == ["271004"]


def _overlapping_batch():
    from dataclasses import replace

    small = b.small_batch()
    return replace(small, batch_id="B-131016-20261202-2", payouts=small.payouts[1:])


def test_a_payout_in_two_files_is_refused_at_prepare_and_at_export(home, tmp_path):
    settings, files = home
    with pytest.raises(ValueError, match="PO-20261202-0002 of batch B-131016-20261202-2 is already in"):
        prepare_payment_files(settings, b.BUSINESS_DATE, "OFF-SATO", batches=[_overlapping_batch()])
    small = files["131016"]
    assert run("payments", "approve", str(small), "--officer", "OFF-KATO") == 0
    assert run("payments", "export", "--date", "2026-11-30", "--municipality", "131016") == 0
    # someone removes the handed-over file from out/ and plans its payout again: the record still knows
    small.unlink()
    small.with_name(small.name.replace(".txt", ".manifest.json")).unlink()
    again = prepare_payment_files(settings, b.BUSINESS_DATE, "OFF-SATO", batches=[_overlapping_batch()])
    assert run("payments", "approve", str(again[0].path), "--officer", "OFF-KATO") == 0
    from seisan.payments_file_steps import export_payment_files

    result = export_payment_files(settings, b.BUSINESS_DATE, municipality_code="131016")
    assert result.exported == ()
    assert [(name, [r.code for r in rs]) for name, rs in result.refused] == [
        (again[0].path.name, ["payment_payout_in_other_file"])]


def test_seisan_run_decision_prepares_asks_and_hands_over_the_approved(home):
    from seisan.payments_file_steps import payments_on_command_line

    settings, files = home
    answers = iter(["yes", "n"])  # files in name order: 131016 approved, then 271004 left
    said: list[str] = []
    result = payments_on_command_line(settings, b.BUSINESS_DATE, "OFF-KATO", ask=lambda _: next(answers),
                                      say=said.append, batches=[b.small_batch(), b.big_batch(1)])
    assert result.exported == (files["131016"].name,)
    assert [name for name, _ in result.refused] == [files["271004"].name]  # never approved: not handed over
    assert (settings.payments_export_dir / files["131016"].name).read_bytes() == files["131016"].read_bytes()
