"""The simulated bank: executes the payment files seisan hands over into the paying account's statements.

Written by hand, not generated with the rest of the world: the world's statements are written when the world is
simulated, but payment files exist only after seisan has run days, planned, and two officers have signed. So the
bank is a separate, later step (`seisan bank execute --date D`, simulated worlds only) that reads the hand-over
folder and rewrites the statements of the inbox that seisan has not ingested yet (files named for dates after D).

What it does with one 総合振込 file (contracts.zengin_transfer reads it; contracts.zengin_statement writes):
- executes it on its 振込指定日 (MMDD, the such date nearest D), or the next bank business day when that
  is not one or is already ingested (D or earlier), into that day's statement of the paying account (created,
  chained to the previous one, when the world has none for that day; when the world forged that statement on
  purpose — ingestion rejects it whole — the lines are lost with it, `bank_execution_in_rejected_statement` in
  faults.json, and seisan reports the withdrawal missing): one withdrawal of the file's total
  (ｿｳｺﾞｳﾌﾘｺﾐ) and one of its transfer fees (ﾌﾘｺﾐﾃｽｳﾘﾖｳ) by the bank's own fee master (simulator.world.FEE_TABLE,
  the table the world's fee_schedule snapshots publish) — sometimes more than the schedule, a fault
  (`bank_fee_over_schedule` in faults.json with file, batch, expected and actual);
- returns (振込不能) each transfer to an account the receiving bank does not hold — a merchant whose master
  account is wrong until a later merchants snapshot corrects it (`wrong_accounts`, decided when the world is
  simulated) — `RETURN_AFTER_BANK_DAYS` bank days later: a deposit of the transfer amount with EDI = payout id
  (`bank_transfer_returned` in faults.json);
- rewrites every later statement of the account so each opening balance stays the previous closing balance.
Deterministic (same world, same files, same dates → same bytes) and idempotent: what was executed is recorded in
`<inbox>/bank-sim/executed.json` by the file's SHA-256, so executing the same file again changes nothing. Every
byte one execution changes is first written to `bank-sim/journal.json` and then to its files, so a killed run
leaves nothing half done: the next run completes the journal before anything else.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts import banks
from contracts.bank_calendar import add_bank_days, is_bank_business_day
from contracts.bank_descriptions import FEES_WITHDRAWAL, RETURN_DEPOSIT, TRANSFER_WITHDRAWAL
from contracts.inbox_names import BANK_KIND, inbox_path
from contracts.zengin_statement import Statement, StatementHeader, StatementLine, read_statement, write_statement
from contracts.zengin_transfer import TransferFile, TransferRecord, read_transfer_file
from simulator.world import FEE_TABLE, Account, World, rng_for

STATE_DIR = "bank-sim"            # beside faults.json: the inbox scan ignores it (ingestion/inbox.py)
MASTER_FILE = "bank.json"         # the bank's own knowledge, written when the world is simulated
EXECUTED_FILE = "executed.json"   # what was executed, by file SHA-256
JOURNAL_FILE = "journal.json"     # one execution's writes, while they are being written
FORMAT = "seisan.simulated-bank/1"
RETURN_AFTER_BANK_DAYS = 2
PAYMENT_FILE_SUFFIX = ".txt"
# extra yen a faulty bank charges on top of the schedule for one file
FEE_FAULT_EXTRA_YEN = (110, 220, 330)
INQUIRY_BASE = 90_000_000          # the bank's own lines are numbered 9xxxxxxx, apart from the world's


class BankError(ValueError):
    """The bank cannot execute: the sentence says why (nothing was written)."""


# --- faults decided when the world is simulated ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WrongAccount:
    """A merchant whose master lists a wrong account until `corrected_on` (a merchants snapshot date)."""

    merchant_id: str
    municipality_code: str
    listed: Account        # what the merchants snapshots before corrected_on say (the bank holds no such account)
    true: Account          # the account the merchant really holds, listed from corrected_on
    corrected_on: dt.date


def wrong_accounts(world: World, uses_by_merchant: dict[tuple[str, str, dt.date], int],
                   level: str) -> tuple[WrongAccount, ...]:
    """Choose the merchants whose account is listed wrong (typical: one, hostile: two, none: none): store
    merchants of the first municipality, active throughout, with the largest use amount on the first bank day
    (so a payout goes to the wrong account early), corrected by the first merchants snapshot after a return of that
    day's payout would have arrived (RETURN_AFTER_BANK_DAYS bank days later).
    `uses_by_merchant`: (municipality, merchant, day) → yen used."""
    if level == "none":
        return ()
    first_bank_day = next((world.date(i) for i in range(world.days) if is_bank_business_day(world.date(i))), None)
    if first_bank_day is None:
        return ()
    # The account is corrected the way it is in life: after the bank has returned a transfer to it. A payout
    # on the first bank day would come back RETURN_AFTER_BANK_DAYS later; the first merchants snapshot after
    # that day lists the right account, so payouts planned in between go to the wrong one too.
    return_known_on = add_bank_days(first_bank_day, RETURN_AFTER_BANK_DAYS)
    corrected_on = next((d for d in world.master_changes.get("merchants", ()) if d > return_known_on), None)
    if corrected_on is None:
        return ()
    municipality = world.municipalities[0].code
    candidates = sorted(
        ((uses_by_merchant.get((municipality, m.merchant_id, first_bank_day), 0), m) for m in world.merchants
         if m.channel == "store" and m.home_municipality == municipality and m.listed_from <= world.start
         and len(m.statuses) == 1 and m.statuses[0][1] == "active"),
        key=lambda pair: (-pair[0], pair[1].merchant_id))
    taken = {m.account.account_number for m in world.merchants}
    rng = rng_for(world.seed, "bank/wrong-accounts")
    out = []
    for used_yen, merchant in candidates[: 1 if level == "typical" else 2]:
        if used_yen <= 0:
            continue
        number = merchant.account.account_number
        while number in taken:   # one digit mistyped: an account the receiving bank does not hold
            position = rng.randrange(len(number))
            number = number[:position] + str((int(number[position]) + rng.randint(1, 9)) % 10) + number[position + 1:]
        taken.add(number)
        listed = Account(merchant.account.bank_code, merchant.account.branch_code, merchant.account.account_type,
                         number)
        out.append(WrongAccount(merchant.merchant_id, municipality, listed, merchant.account, corrected_on))
    return tuple(out)


def list_wrong_accounts(faults: Sequence[WrongAccount], merchant_files: Iterable[Any]) -> None:
    """Write the wrong account into every merchants snapshot dated before its correction (CsvFile rows, in
    place); snapshots from the correction on keep the true account."""
    by_id = {f.merchant_id: f for f in faults}
    for file in merchant_files:
        for row in file.rows:
            fault = by_id.get(row.get("merchant_id", ""))
            if fault is not None and file.day < fault.corrected_on:
                row["account_number"] = fault.listed.account_number


def wrong_account_entries(faults: Sequence[WrongAccount], first_id: int) -> list[dict[str, Any]]:
    """faults.json entries (ground truth) for the wrong accounts, numbered after the world's other entries."""
    entries = []
    for offset, fault in enumerate(faults):
        entries.append({
            "id": f"F{first_id + offset:04d}", "layer": "payments", "kind": "merchant_account_wrong",
            "path": inbox_path("master_merchants", fault.corrected_on), "line_number": 0,
            "arrives": fault.corrected_on.isoformat(),
            "expect": {"bank": "every transfer to the listed account is returned (ﾌﾘｺﾐﾌﾉｳ)",
                       "break": "bank_payout_returned", "requeued_from": fault.corrected_on.isoformat()},
            "merchant_id": fault.merchant_id, "municipality_code": fault.municipality_code,
            "listed_account_number": fault.listed.account_number, "corrected_on": fault.corrected_on.isoformat()})
    return entries


def write_bank_master(out_dir: Path, world: World, level: str, faults: Sequence[WrongAccount]) -> None:
    """The bank's own knowledge for later executions: accounts it does not hold, which executions it overcharges
    (typical: one or two files, hostile: three to five, by execution order), and the world's cast it needs."""
    state = Path(out_dir) / STATE_DIR
    if state.exists():
        shutil.rmtree(state)   # a new world: nothing of it was executed yet
    state.mkdir(parents=True)
    rng = rng_for(world.seed, f"bank/fee-faults/{level}")
    count = {"none": 0, "typical": rng.randint(1, 2), "hostile": rng.randint(3, 5)}[level]
    ordinals = sorted({1} | {rng.randint(2, 6) for _ in range(count - 1)}) if count else []
    master = {
        "format": FORMAT, "seed": world.seed, "faults": level,
        "return_after_bank_days": RETURN_AFTER_BANK_DAYS,
        "unknown_accounts": [{"bank_code": f.listed.bank_code, "branch_code": f.listed.branch_code,
                              "account_number": f.listed.account_number, "merchant_id": f.merchant_id,
                              "why": "wrong_account"} for f in faults],
        "fee_over_schedule": [{"execution": n, "extra_yen": rng.choice(FEE_FAULT_EXTRA_YEN)} for n in ordinals],
    }
    (state / MASTER_FILE).write_text(json.dumps(master, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                     encoding="utf-8")


# --- executing payment files --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Execution:
    """One payment file executed (now or before): where its withdrawals and returns went."""

    file_name: str
    file_sha256: str
    batch_id: str | None
    executed_on: dt.date
    total_yen: int
    fee_yen: int
    schedule_fee_yen: int
    returned_payout_ids: tuple[str, ...]
    already: bool


@dataclass(frozen=True, slots=True)
class ExecuteResult:
    run_date: dt.date
    executions: tuple[Execution, ...]
    refused: tuple[tuple[str, str], ...]      # (file name, why)
    statements_written: tuple[str, ...]       # inbox paths rewritten or created


@dataclass(frozen=True, slots=True)
class _Posting:
    """A line the bank adds to one day's statement of one account (in a fixed order: see _order)."""

    day: dt.date
    direction: str
    transaction_type: str
    amount: int
    description: str
    edi: str = ""
    sending_bank_name: str = ""


@dataclass(frozen=True, slots=True)
class _Payer:
    bank_code: str
    branch_code: str
    account_number: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def transfer_date_of(mmdd: str, run_date: dt.date) -> dt.date:
    """The 振込指定日 a file's MMDD names (it has no year): the date with that MMDD nearest the hand-over date,
    so a file handed over on 30 December for 0104 means 4 January of the next year, and a stale file a past
    date (executed on the next bank day after the hand-over)."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    candidates = []
    for year in (run_date.year - 1, run_date.year, run_date.year + 1):
        try:
            candidates.append(dt.date(year, month, day))
        except ValueError:
            continue   # 29 February of a common year
    if not candidates:
        raise BankError(f"振込指定日 {mmdd} is not a date")
    return min(candidates, key=lambda d: (abs((d - run_date).days), d))


def schedule_fee(payer_bank: str, payer_branch: str, record: TransferRecord) -> int:
    """The bank's fee for one transfer: its relation (same branch, same bank, other bank) and amount band."""
    if record.bank_code == payer_bank:
        relation = "same_branch" if record.branch_code == payer_branch else "same_bank"
    else:
        relation = "other_bank"
    for name, low, high, fee in FEE_TABLE:
        if name == relation and low <= record.amount and (high is None or record.amount <= high):
            return fee
    raise BankError(f"no fee band for a {relation} transfer of {record.amount} yen")


def _statement_path(payer: _Payer, day: dt.date) -> str:
    return inbox_path(BANK_KIND, day, bank=payer.bank_code, branch=payer.branch_code, account=payer.account_number)


def _account_statements(inbox: Path, payer: _Payer, archive: Path | None) -> dict[dt.date, Path]:
    """The account's statements by day: those delivered and still in the inbox, and those the receiver archived
    once loaded (`archive`: its archive folder, which keeps the inbox's relative paths; the inbox's copy wins)."""
    prefix = f"{payer.bank_code}_{payer.branch_code}_{payer.account_number}_"
    out = {}
    roots = [inbox] if archive is None else [Path(archive), inbox]
    for folder in (root / "bank" / payer.bank_code for root in roots):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            stem = path.name.removesuffix(".txt")
            if path.is_file() and path.name.startswith(prefix) and path.name.endswith(".txt"):
                try:
                    out[dt.datetime.strptime(stem[len(prefix):], "%Y%m%d").date()] = path
                except ValueError:
                    continue
    return out


def _readable(path: Path, day: dt.date) -> Statement | None:
    return read_statement(path.read_bytes(), day).statement


def _bank_day_on_or_after(day: dt.date) -> dt.date:
    while not is_bank_business_day(day):
        day += dt.timedelta(days=1)
    return day


def _posting_day(inbox: Path, payer: _Payer, earliest: dt.date, archive: Path | None) -> dt.date:
    """The first bank business day on or after `earliest` whose statement is absent (created) or readable (a
    statement the world forged on purpose — a broken trailer — is left as it is)."""
    statements = _account_statements(inbox, payer, archive)
    day = earliest
    while not is_bank_business_day(day) or (day in statements and _readable(statements[day], day) is None):
        day += dt.timedelta(days=1)
    return day


def _post(inbox: Path, payer: _Payer, run_date: dt.date, postings: Sequence[_Posting],
          inquiry: dict[str, int], archive: Path | None) -> dict[str, bytes]:
    """The account's statements after run_date with the postings added and every later statement re-chained
    (each opening = the previous closing): inbox path → new bytes (written by the caller, through the journal).
    Statements of run_date or earlier are never touched (already ingested)."""
    statements = _account_statements(inbox, payer, archive)
    by_day: dict[dt.date, list[_Posting]] = {}
    for posting in postings:
        if posting.day <= run_date:
            raise BankError(f"cannot post to {posting.day}: statements up to {run_date} are ingested already")
        by_day.setdefault(posting.day, []).append(posting)
    written: dict[str, bytes] = {}
    shift = 0                         # how much every later opening balance moves
    previous: Statement | None = None
    key = f"{payer.bank_code}_{payer.branch_code}_{payer.account_number}"
    for day in sorted(set(statements) | set(by_day)):
        existing = _readable(statements[day], day) if day in statements else None
        if day in statements and existing is None and day > run_date:
            # a statement the world forged on purpose (ingestion rejects it whole): what the bank did that day
            # is in it and lost with it, so the later openings move all the same
            shift += sum(p.amount if p.direction == "credit" else -p.amount for p in by_day.get(day, []))
            continue
        if day <= run_date:
            previous = existing if existing is not None else previous
            continue
        adds = by_day.get(day, [])
        if not adds and shift == 0:
            previous = existing
            continue
        if existing is None:
            if previous is None:
                raise BankError(f"no earlier statement of account {key} to chain a statement of {day} to")
            header = _header_like(previous.header, day, previous.closing_balance)
            lines: tuple[StatementLine, ...] = ()
        else:
            header = _header_like(existing.header, day, existing.header.opening_balance + shift)
            lines = existing.lines
        new_lines = []
        for posting in adds:
            inquiry[key] = inquiry.get(key, 0) + 1
            new_lines.append(StatementLine(f"{INQUIRY_BASE + inquiry[key]:08d}", day, day, posting.direction,
                                           posting.transaction_type, posting.amount,
                                           sending_bank_name=posting.sending_bank_name,
                                           description=posting.description, edi=posting.edi))
        statement = Statement(header, lines + tuple(new_lines))
        shift += sum(p.amount if p.direction == "credit" else -p.amount for p in adds)
        written[_statement_path(payer, day)] = write_statement(statement)
        previous = statement
    return written


def _header_like(header: StatementHeader, day: dt.date, opening_yen: int) -> StatementHeader:
    return StatementHeader(day, day, day, header.bank_code, header.bank_name, header.branch_code, header.branch_name,
                           header.account_type, header.account_number, header.account_name,
                           passbook_flag=header.passbook_flag, opening_balance=opening_yen)


def _bank_name(code: str) -> str:
    try:
        return banks.bank_name_kana(code)
    except KeyError:
        return ""


def _batch_of(path: Path) -> str | None:
    """The batch id from the manifest beside the file (for the ground truth only; the bank reads the file)."""
    manifest = path.with_name(path.name + ".manifest.json")
    if not manifest.exists():
        manifest = path.with_name(path.name.removesuffix(PAYMENT_FILE_SUFFIX) + ".manifest.json")
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("batch_id")
    except (OSError, ValueError, AttributeError):
        return None


def handed_over_files(handover: Path) -> list[Path]:
    """The payment files in the hand-over folder (never temporary dot-files or manifests), by name."""
    if not handover.is_dir():
        return []
    return sorted(p for p in handover.iterdir() if p.is_file() and p.name.endswith(PAYMENT_FILE_SUFFIX)
                  and not p.name.startswith(".") and not p.name.endswith(".manifest.json"))


def execute(inbox: Path, handover: Path, run_date: dt.date, archive: Path | None = None) -> ExecuteResult:
    """Execute every payment file of `handover` not executed before into the statements of `inbox` (a simulated
    world: `<inbox>/bank-sim/bank.json` must exist), as on hand-over date `run_date`. `archive`: where the
    receiver moves statements it has loaded (seisan's `[ingest] archive`); earlier statements are read there too
    (to chain the balances), new ones are always written to the inbox."""
    inbox, state = Path(inbox), Path(inbox) / STATE_DIR
    if not (state / MASTER_FILE).exists():
        raise BankError(f"{inbox} is not a simulated world ({STATE_DIR}/{MASTER_FILE} missing): the simulated bank "
                        f"executes files only into a world written by `seisan simulate`")
    master = _load_json(state / MASTER_FILE, {})
    unknown = {(a["bank_code"], a["branch_code"], a["account_number"]): a for a in master["unknown_accounts"]}
    overcharge = {f["execution"]: f["extra_yen"] for f in master["fee_over_schedule"]}
    _finish_journal(inbox)   # a run killed while writing: its writes are completed first
    record = _load_json(state / EXECUTED_FILE, {"format": FORMAT, "files": {}, "inquiry": {}})
    executions, refused, written = [], [], []
    for path in handed_over_files(Path(handover)):
        data = path.read_bytes()
        sha = _sha256(data)
        done = record["files"].get(sha)
        if done is not None:
            executions.append(_execution_of(done, already=True))
            continue
        read = read_transfer_file(data)
        if read.file is None:
            refused.append((path.name, "; ".join(p.detail for p in read.problems[:3])))
            continue
        ordinal = len(record["files"]) + 1
        outcome, paths, faults = _execute_one(inbox, path.name, sha, _batch_of(path), read.file, run_date,
                                              unknown, overcharge.get(ordinal, 0), master, record["inquiry"],
                                              archive)
        record["files"][sha] = outcome
        executions.append(_execution_of(outcome, already=False))
        written += list(paths)
        # every byte one execution changes (statements, ground truth, the record) is journalled first and then
        # written: a kill leaves either nothing of it or a journal the next run completes
        writes = {**paths, f"{STATE_DIR}/{EXECUTED_FILE}": _json(record)}
        if faults:
            writes["faults.json"] = _faults_with(inbox, faults)
        _write_journal(inbox, writes)
        _finish_journal(inbox)
    return ExecuteResult(run_date, tuple(executions), tuple(refused), tuple(sorted(set(written))))


def _execute_one(inbox: Path, name: str, sha: str, batch_id: str | None, tf: TransferFile, run_date: dt.date,
                 unknown: dict, extra_yen: int, master: dict, inquiry: dict[str, int], archive: Path | None
                 ) -> tuple[dict[str, Any], dict[str, bytes], list[dict[str, Any]]]:
    h = tf.header
    payer = _Payer(h.bank_code, h.branch_code, h.account_number)
    transfer_date = transfer_date_of(h.transfer_mmdd, run_date)
    day = _bank_day_on_or_after(max(transfer_date, run_date + dt.timedelta(days=1)))
    statement = inbox / _statement_path(payer, day)
    lost = statement.exists() and _readable(statement, day) is None
    fees = sum(schedule_fee(h.bank_code, h.branch_code, r) for r in tf.records)
    postings = [_Posting(day, "debit", "11", tf.total, TRANSFER_WITHDRAWAL)]
    if fees + extra_yen > 0:
        postings.append(_Posting(day, "debit", "18", fees + extra_yen, FEES_WITHDRAWAL))
    returns = [r for r in tf.records if (r.bank_code, r.branch_code, r.account_number) in unknown]
    return_day = _posting_day(inbox, payer, add_bank_days(day, int(master["return_after_bank_days"])), archive)
    postings += [_Posting(return_day, "credit", "11", r.amount, RETURN_DEPOSIT, edi=r.edi,
                          sending_bank_name=_bank_name(r.bank_code)) for r in returns]
    before = {k: v for k, v in inquiry.items()}
    paths = _post(inbox, payer, run_date, postings, inquiry, archive)
    key = f"{payer.bank_code}_{payer.branch_code}_{payer.account_number}"
    numbers = list(range(before.get(key, 0) + 1, inquiry.get(key, 0) + 1))
    outcome = {"file_name": name, "file_sha256": sha, "batch_id": batch_id, "executed_on": day.isoformat(),
               "transfer_date": transfer_date.isoformat(), "total_yen": tf.total, "fee_yen": fees + extra_yen,
               "schedule_fee_yen": fees, "returned_payout_ids": [r.edi for r in returns],
               "return_on": return_day.isoformat() if returns else None}
    faults = []
    statement_path = _statement_path(payer, day)
    where = _statement_path(payer, return_day)
    if lost:
        faults.append({"layer": "bank", "kind": "bank_execution_in_rejected_statement", "path": statement_path,
                       "line_number": 0, "arrives": day.isoformat(),
                       "expect": {"break": "bank_batch_withdrawal_missing"},
                       "file": name, "batch": batch_id, "expected": tf.total})
    elif extra_yen:
        faults.append({"layer": "bank", "kind": "bank_fee_over_schedule", "path": statement_path,
                       "line_number": _line_of(paths[statement_path], day, INQUIRY_BASE + numbers[1]),
                       "arrives": day.isoformat(), "expect": {"break": "bank_fees_over_schedule"},
                       "file": name, "batch": batch_id, "expected": fees, "actual": fees + extra_yen})
    for offset, r in enumerate(returns):
        faults.append({"layer": "bank", "kind": "bank_transfer_returned", "path": where,
                       "line_number": _line_of(paths[where], return_day,
                                               INQUIRY_BASE + numbers[len(numbers) - len(returns) + offset]),
                       "arrives": return_day.isoformat(),
                       "expect": {"break": "bank_payout_returned", "payout_state": "returned, then requeued once "
                                  "the merchants master names another account"},
                       "file": name, "batch": batch_id, "payout_id": r.edi, "amount": r.amount,
                       "merchant_id": unknown[(r.bank_code, r.branch_code, r.account_number)]["merchant_id"]})
    return outcome, paths, faults


def _line_of(data: bytes, day: dt.date, inquiry_number: int) -> int:
    """The record number (= line number, CRLF records) of the statement line with that 照会番号."""
    statement = read_statement(data, day).statement
    wanted = f"{inquiry_number:08d}"
    return next(i for i, line in enumerate(statement.lines, start=2) if line.inquiry_number == wanted)


def _execution_of(outcome: dict[str, Any], *, already: bool) -> Execution:
    return Execution(outcome["file_name"], outcome["file_sha256"], outcome["batch_id"],
                     dt.date.fromisoformat(outcome["executed_on"]), outcome["total_yen"], outcome["fee_yen"],
                     outcome["schedule_fee_yen"], tuple(outcome["returned_payout_ids"]), already)


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _faults_with(inbox: Path, entries: list[dict[str, Any]]) -> bytes:
    """faults.json with the bank's ground truth added, numbered after the entries already there."""
    truth = _load_json(inbox / "faults.json", {"entries": []})
    for entry in entries:
        truth["entries"].append({"id": f"F{len(truth['entries']) + 1:04d}", **entry})
    return (json.dumps(truth, ensure_ascii=False, indent=1, default=str) + "\n").encode("utf-8")


def _write_atomically(path: Path, data: bytes) -> None:
    """A temporary dot-name (never read by the inbox scan), then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _write_journal(inbox: Path, writes: dict[str, bytes]) -> None:
    journal = {path: base64.b64encode(data).decode("ascii") for path, data in sorted(writes.items())}
    _write_atomically(inbox / STATE_DIR / JOURNAL_FILE, _json(journal))


def _finish_journal(inbox: Path) -> None:
    """Write every file a journal holds (again: the bytes are final, so this is idempotent), then drop it."""
    path = inbox / STATE_DIR / JOURNAL_FILE
    if not path.exists():
        return
    for relative, encoded in sorted(json.loads(path.read_text(encoding="utf-8")).items()):
        _write_atomically(inbox / relative, base64.b64decode(encoded))
    path.unlink()
