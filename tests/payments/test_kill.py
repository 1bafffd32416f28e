"""Kill tests: a real `kill -9` of a child process running ten days of payments (freeze, plan, mark_batched,
mark_issued, the simulated bank, confirm_from_bank, a return re-paid) at a random moment, then a rerun to the end:
the tables equal those of an uninterrupted run, no source is in two payouts, every merchant's yen are accounted.

CI runs a handful of kill points. The soak (≥ 100 kills, a few minutes):

    PAYMENTS_KILL_SOAK=100 uv run --frozen pytest tests/payments/test_kill.py -q -p no:cacheprovider
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

CHILD = Path(__file__).resolve().parent / "kill_child.py"
KILLS = int(os.environ.get("PAYMENTS_KILL_SOAK", "4"))
TABLES = {
    "statements": "statement_id, merchant_id, period_start_date, amount_yen, frozen_on",
    "adjustments": "adjustment_id, statement_id, seq, amount_yen, found_on",
    "batches": "batch_id, business_date, transfer_date, payout_count, total_transfer_yen, total_fee_yen",
    "payouts": "payout_id, batch_id, merchant_id, amount_yen, fee_yen, transfer_yen, account_number, state, "
               "requeue_of",
    "payout_items": "source_id, payout_id, source_kind, amount_yen",
    "payout_events": "event_id, payout_id, from_state, to_state, actor",
    "remainders": "remainder_id, payout_id, amount_yen",
    "bank_checks": "check_id, batch_id, payout_id, check_code, expected_yen, actual_yen, line_number",
}


def _run_child(path: Path, *extra: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, str(CHILD), str(path), *extra], check=True, timeout=300)
    return time.monotonic() - started


def _snapshot(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"select {cols} from payments.{t} order by all").fetchall()  # noqa: S608
                for t, cols in TABLES.items()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[tuple]], float]:
    path = tmp_path_factory.mktemp("reference") / "w.duckdb"
    seconds = _run_child(path)
    snap = _snapshot(path)
    # the history really exercises the ledger: a return, a re-paid payout, confirmations, a negative period
    states = {row[7] for row in snap["payouts"]}
    assert {"confirmed", "requeued"} <= states, states
    assert any(row[2] == "returned_payout" for row in snap["payout_items"])
    assert any(row[3] < 0 for row in snap["statements"])
    assert snap["adjustments"], "the late change must have made an adjustment"
    return snap, seconds


def test_rerun_of_the_whole_last_day_is_a_no_op(reference, tmp_path: Path) -> None:
    snap, _ = reference
    path = tmp_path / "w.duckdb"
    _run_child(path)
    _run_child(path, "--rerun-last")
    assert _snapshot(path) == snap


@pytest.mark.parametrize("attempt", range(KILLS))
def test_kill_9_at_a_random_point_then_rerun(reference, tmp_path: Path, attempt: int) -> None:
    snap, seconds = reference
    rng = random.Random(attempt)
    path = tmp_path / "w.duckdb"
    kills = 0
    for _ in range(rng.randint(1, 3)):        # sometimes killed again during the rerun
        child = subprocess.Popen([sys.executable, str(CHILD), str(path)])
        time.sleep(rng.uniform(0.2, max(seconds, 0.5)))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait()
    _run_child(path)
    after = _snapshot(path)
    assert after == snap
    assert len({row[0] for row in after["payout_items"]}) == len(after["payout_items"])
