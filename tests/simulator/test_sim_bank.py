"""The simulated bank (simulator/bank.py) on a hand-made inbox: one paying account's statements from Monday
30 November to Friday 4 December 2026, a 総合振込 file handed over on Tuesday 1 December for Wednesday 2 December,
and a bank master that holds no account 0009-045-2222222 and overcharges its first execution by 110 yen.

Expected by hand: fees 0 (same branch) + 220 (same bank, < 30,000) + 770 (other bank, 30,000) + 550 (other bank,
< 30,000) = 1,540, charged 1,650; total 119,999; the transfer to 2222222 (10,000) comes back 振込不能 two bank
days later (Friday 4 December) with its payout id in EDI; every later opening moves with what was posted."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from contracts.zengin_statement import Statement, StatementHeader, StatementLine, read_statement, write_statement
from contracts.zengin_transfer import TransferFile, TransferHeader, TransferRecord, write_transfer_file
from simulator.bank import BankError, execute

BANK, BRANCH, ACCOUNT = "0001", "004", "7654321"
DAYS = [dt.date(2026, 11, 30) + dt.timedelta(days=i) for i in range(5)]   # Mon..Fri
HANDED_OVER = dt.date(2026, 12, 1)
OPENING = 10_000_000
# (day index, direction, amount, description): what the world wrote before any payment file
WORLD_LINES = [(0, "credit", 5_000, "ﾘｿｸ"), (1, "debit", 3_000, "ﾃﾞﾝｷﾘﾖｳ"), (2, "credit", 40_000, "ﾎｼﾞﾖｷﾝ"),
               (4, "debit", 1_000, "ｺｳｷﾝﾋ")]


def _path(inbox: Path, day: dt.date) -> Path:
    return inbox / "bank" / BANK / f"{BANK}_{BRANCH}_{ACCOUNT}_{day:%Y%m%d}.txt"


def _world(inbox: Path, unknown: list[str], overcharge: list[dict]) -> None:
    balance = OPENING
    for index, day in enumerate(DAYS):
        lines = tuple(StatementLine(f"{n:08d}", day, day, direction, "11", amount, description=text)
                      for n, (i, direction, amount, text) in enumerate(WORLD_LINES, start=1) if i == index)
        header = StatementHeader(day, day, day, BANK, "ﾐｽﾞﾎ", BRANCH, "ﾏﾙﾉｳﾁ", 1, ACCOUNT, "ﾁﾖﾀﾞｸ",
                                 opening_balance=balance)
        statement = Statement(header, lines)
        balance = statement.closing_balance
        _path(inbox, day).parent.mkdir(parents=True, exist_ok=True)
        _path(inbox, day).write_bytes(write_statement(statement))
    (inbox / "bank-sim").mkdir()
    (inbox / "bank-sim" / "bank.json").write_text(json.dumps({
        "format": "seisan.simulated-bank/1", "seed": 1, "faults": "typical", "return_after_bank_days": 2,
        "unknown_accounts": [{"bank_code": "0009", "branch_code": "045", "account_number": n, "merchant_id": "M1",
                              "why": "wrong_account"} for n in unknown],
        "fee_over_schedule": overcharge}), encoding="utf-8")
    (inbox / "faults.json").write_text(json.dumps({"entries": [{"id": "F0001", "kind": "other"}]}), encoding="utf-8")


def _file(handover: Path, name: str, mmdd: str, records: list[TransferRecord]) -> Path:
    handover.mkdir(parents=True, exist_ok=True)
    header = TransferHeader("1234567890", "ﾁﾖﾀﾞｸ", mmdd, BANK, BRANCH, 1, ACCOUNT)
    path = handover / name
    path.write_bytes(write_transfer_file(TransferFile(header, tuple(records))))
    (handover / f"{name}.manifest.json").write_text(json.dumps({"batch_id": "PB-TEST"}), encoding="utf-8")
    return path


RECORDS = [TransferRecord("0001", "004", 1, "1111111", "ｱ", 50_000, edi="PO-A"),
           TransferRecord("0001", "005", 1, "1111112", "ｲ", 29_999, edi="PO-B"),
           TransferRecord("0005", "123", 1, "1111113", "ｳ", 30_000, edi="PO-C"),
           TransferRecord("0009", "045", 1, "2222222", "ｴ", 10_000, edi="PO-RET-1")]


def _read(inbox: Path, day: dt.date) -> Statement:
    read = read_statement(_path(inbox, day).read_bytes(), day)
    assert read.problems == (), read.problems
    return read.statement


def _chain(inbox: Path) -> list[tuple[dt.date, int, int]]:
    days = sorted(dt.datetime.strptime(p.stem[-8:], "%Y%m%d").date() for p in (inbox / "bank" / BANK).iterdir())
    out = [(day, _read(inbox, day).header.opening_balance, _read(inbox, day).closing_balance) for day in days]
    for (_, _, closing), (_, opening, _) in zip(out, out[1:], strict=False):
        assert opening == closing   # each opening balance = the previous closing balance
    return out


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    inbox, handover = tmp_path / "inbox", tmp_path / "outbox"
    _world(inbox, ["2222222"], [{"execution": 1, "extra_yen": 110}])
    _file(handover, "131016_2026-12-02_PB-TEST.txt", "1202", RECORDS)
    return inbox, handover


def test_execute_posts_total_fees_and_return_and_rechains(world) -> None:
    inbox, handover = world
    before = {day: _path(inbox, day).read_bytes() for day in DAYS}
    old_chain = _chain(inbox)
    result = execute(inbox, handover, HANDED_OVER)
    (item,) = result.executions
    assert (item.executed_on, item.total_yen, item.schedule_fee_yen, item.fee_yen, item.returned_payout_ids) == (
        dt.date(2026, 12, 2), 119_999, 1_540, 1_650, ("PO-RET-1",))
    # statements handed to seisan already (up to the hand-over date) are never touched
    assert [_path(inbox, d).read_bytes() for d in DAYS[:2]] == [before[d] for d in DAYS[:2]]
    wednesday = _read(inbox, DAYS[2]).lines
    assert [(ln.direction, ln.amount, ln.description) for ln in wednesday[-2:]] == [
        ("debit", 119_999, "ｿｳｺﾞｳﾌﾘｺﾐ"), ("debit", 1_650, "ﾌﾘｺﾐﾃｽｳﾘﾖｳ")]
    friday = _read(inbox, DAYS[4]).lines
    assert [(ln.direction, ln.amount, ln.description, ln.edi) for ln in friday[-1:]] == [
        ("credit", 10_000, "ﾌﾘｺﾐﾌﾉｳ", "PO-RET-1")]
    chain = _chain(inbox)
    moved = {day: closing - old for (day, _, closing), (_, _, old) in zip(chain, old_chain, strict=True)}
    assert moved == {DAYS[0]: 0, DAYS[1]: 0, DAYS[2]: -121_649, DAYS[3]: -121_649, DAYS[4]: -111_649}
    assert sorted(result.statements_written) == sorted(str(_path(inbox, d).relative_to(inbox)) for d in DAYS[2:])
    truth = json.loads((inbox / "faults.json").read_text(encoding="utf-8"))["entries"]
    fee, returned = truth[1], truth[2]
    assert (fee["id"], fee["kind"], fee["expected"], fee["actual"], fee["batch"], fee["line_number"]) == (
        "F0002", "bank_fee_over_schedule", 1_540, 1_650, "PB-TEST", 4)   # header, world line, total, fees
    assert (returned["kind"], returned["payout_id"], returned["amount"], returned["arrives"],
            returned["line_number"]) == ("bank_transfer_returned", "PO-RET-1", 10_000, "2026-12-04", 3)


def test_execute_is_idempotent_and_deterministic(world, tmp_path: Path) -> None:
    inbox, handover = world
    copy = tmp_path / "copy"
    shutil.copytree(inbox, copy)
    execute(inbox, handover, HANDED_OVER)
    after = {p: p.read_bytes() for p in sorted(inbox.rglob("*")) if p.is_file()}
    again = execute(inbox, handover, HANDED_OVER + dt.timedelta(days=1))
    assert [e.already for e in again.executions] == [True] and again.statements_written == ()
    assert {p: p.read_bytes() for p in sorted(inbox.rglob("*")) if p.is_file()} == after
    execute(copy, handover, HANDED_OVER)   # the same world and file elsewhere: the same bytes
    assert {p.relative_to(copy): p.read_bytes() for p in sorted(copy.rglob("*")) if p.is_file()} == {
        p.relative_to(inbox): data for p, data in after.items()}


def test_a_statement_past_the_world_is_created_and_chained(tmp_path: Path) -> None:
    inbox, handover = tmp_path / "inbox", tmp_path / "outbox"
    _world(inbox, [], [])
    _file(handover, "131016_2026-12-07_PB-TEST.txt", "1207", RECORDS[:1])   # Monday: no statement yet
    (item,) = execute(inbox, handover, dt.date(2026, 12, 4)).executions
    assert (item.executed_on, item.fee_yen) == (dt.date(2026, 12, 7), 0)   # same branch: free, no fee line
    monday = _read(inbox, dt.date(2026, 12, 7))
    assert [(ln.direction, ln.amount) for ln in monday.lines] == [("debit", 50_000)]
    assert _chain(inbox)[-1][1:] == (_read(inbox, DAYS[4]).closing_balance,
                                     _read(inbox, DAYS[4]).closing_balance - 50_000)


def test_statements_the_receiver_archived_are_read_from_the_archive(tmp_path: Path) -> None:
    """seisan's `[ingest] archive` moves loaded statements out of the inbox (same relative paths): the bank still
    chains to them, and writes what it would have written had they stayed (the statement past the world above)."""
    kept, moved, archive = tmp_path / "kept", tmp_path / "moved", tmp_path / "archive"
    for inbox in (kept, moved):
        _world(inbox, [], [])
    _file(tmp_path / "outbox", "131016_2026-12-07_PB-TEST.txt", "1207", RECORDS[:1])
    for day in DAYS:   # every statement up to Friday 4 December loaded and archived
        target = archive / _path(moved, day).relative_to(moved)
        target.parent.mkdir(parents=True, exist_ok=True)
        _path(moved, day).rename(target)
    with pytest.raises(BankError, match="no earlier statement"):   # without its archive the bank has no chain
        execute(moved, tmp_path / "outbox", dt.date(2026, 12, 4))
    expected = execute(kept, tmp_path / "outbox", dt.date(2026, 12, 4))
    shutil.rmtree(moved / "bank-sim")
    _world(tmp_path / "fresh", [], [])
    shutil.copytree(tmp_path / "fresh" / "bank-sim", moved / "bank-sim")
    result = execute(moved, tmp_path / "outbox", dt.date(2026, 12, 4), archive)
    assert result == expected
    monday = _path(moved, dt.date(2026, 12, 7))
    assert monday.read_bytes() == _path(kept, dt.date(2026, 12, 7)).read_bytes()
    assert sorted(p.name for p in (moved / "bank" / BANK).iterdir()) == [monday.name]


def test_a_world_that_is_not_simulated_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="not a simulated world"):
        execute(tmp_path, tmp_path / "outbox", HANDED_OVER)


def test_bank_break_codes_have_one_owner_and_are_documented() -> None:
    """The view raises 'bank_' + each problem PayoutCheck: its SQL list, BreakCode and the docs agree with
    contracts.reasons.PAYOUT_CHECK_PROBLEMS."""
    import re

    from contracts.reasons import PAYOUT_CHECK_PROBLEMS, BreakCode, PayoutCheck
    from reconciliation.rules import load_rules

    root = Path(__file__).resolve().parents[2]
    model = (root / "dbt/models/reconciliation/rec_payments__bank_checks.sql").read_text(encoding="utf-8")
    listed = re.search(r"where check_code in \(([^)]*)\)", model).group(1)
    assert set(re.findall(r"'([a-z_]+)'", listed)) == {c.value for c in PAYOUT_CHECK_PROBLEMS}
    assert PAYOUT_CHECK_PROBLEMS <= set(PayoutCheck)
    formats = (root / "docs/formats.md").read_text(encoding="utf-8")
    recon = (root / "docs/reconciliation.md").read_text(encoding="utf-8")
    for check in PAYOUT_CHECK_PROBLEMS:
        code = BreakCode(f"bank_{check.value}")
        assert f"`{code}`" in formats and f"`{code}`" in recon, code
    assert "payments_bank_checks" in {rule.pair for rule in load_rules()}


def test_transfer_date_of_infers_the_year_nearest_the_hand_over() -> None:
    from simulator.bank import transfer_date_of

    assert transfer_date_of("1202", dt.date(2026, 12, 1)) == dt.date(2026, 12, 2)
    assert transfer_date_of("0104", dt.date(2026, 12, 30)) == dt.date(2027, 1, 4)
    assert transfer_date_of("1230", dt.date(2027, 1, 2)) == dt.date(2026, 12, 30)   # stale: in the past
    assert transfer_date_of("0229", dt.date(2028, 2, 27)) == dt.date(2028, 2, 29)


def test_a_run_killed_while_writing_is_completed_by_the_next(world, tmp_path: Path, monkeypatch) -> None:
    """The journal: a run that dies after journalling an execution and before writing any of it (the death is
    injected where the writes would start) is finished by the next run, which executes nothing twice: the inbox
    then equals the one an uninterrupted run leaves."""
    import simulator.bank as bank

    inbox, handover = world
    clean = tmp_path / "clean"
    shutil.copytree(inbox, clean)
    execute(clean, handover, HANDED_OVER)

    finish = bank._finish_journal

    def dies_once_journalled(folder: Path) -> None:
        if (folder / "bank-sim" / "journal.json").exists():
            raise KeyboardInterrupt
        finish(folder)

    monkeypatch.setattr(bank, "_finish_journal", dies_once_journalled)
    with pytest.raises(KeyboardInterrupt):
        execute(inbox, handover, HANDED_OVER)
    monkeypatch.undo()
    assert (inbox / "bank-sim" / "journal.json").exists() and not (inbox / "bank-sim" / "executed.json").exists()
    again = execute(inbox, handover, HANDED_OVER)
    assert [e.already for e in again.executions] == [True]
    assert {p.relative_to(inbox): p.read_bytes() for p in sorted(inbox.rglob("*")) if p.is_file()} == {
        p.relative_to(clean): p.read_bytes() for p in sorted(clean.rglob("*")) if p.is_file()}


def test_the_command_executes_then_finds_it_done(world, seisan_home, capsys) -> None:
    from seisan.cli import main

    inbox, handover = world
    argv = ["bank", "execute", "--date", "2026-12-01", "--inbox", str(inbox), "--from", str(handover)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "executed: 131016_2026-12-02_PB-TEST.txt on 2026-12-02: 119,999 yen transferred, 1,650 yen fees" in out
    assert "1 returned 振込不能 later" in out and out.count("statement written:") == 3
    assert main(argv) == 0
    assert "executed before: 131016_2026-12-02_PB-TEST.txt" in capsys.readouterr().out
    assert main(["bank", "execute", "--date", "2026-12-01", "--inbox", str(handover)]) == 1
    assert "not a simulated world" in capsys.readouterr().err
