"""Real `kill -9` of a child process during prepare, approve and export of payment files, at random instants,
then a rerun: no half-written file is ever visible under a final name, the rerun gives byte-identical files,
and no file is handed over twice.

A handful of kill points per step run in CI. The soak (at least 100 kill points):

    PAYFILE_KILL_POINTS=34 uv run --frozen pytest tests/payments/test_kill_file.py -q -p no:cacheprovider

(34 per step × 3 steps = 102 kills; PAYFILE_KILL_SEED picks another random sequence, printed on failure.)
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import payfile_builders as b
import payfile_kill_child as child
import pytest

from payments.file_steps import EXPORTS_RECORD, export_files, verify_file
from payments.officers import load_registry

CHILD = Path(child.__file__).resolve()
STEPS = ("prepare", "approve", "export")
KILL_POINTS = int(os.environ.get("PAYFILE_KILL_POINTS", "2"))
SEED = int(os.environ.get("PAYFILE_KILL_SEED", "20261204"))
FOLDERS = ("payments", "outbox")


def visible_files(work: Path) -> dict[str, bytes]:
    """Every file under a final name (never the temporary dot-files) in payments/ and outbox/."""
    found = {}
    for folder in FOLDERS:
        for path in sorted((work / folder).glob("*")) if (work / folder).is_dir() else []:
            if not path.name.startswith("."):
                found[f"{folder}/{path.name}"] = path.read_bytes()
    return found


def export_record(files: dict[str, bytes]) -> dict:
    """exports.json without `found_already_in_place` (whether a rerun healed a kill) and `to` (the folder of the
    run; checked on its own)."""
    raw = files.get(f"payments/{EXPORTS_RECORD}")
    if raw is None:
        return {}
    record = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    return {name: {k: v for k, v in entry.items() if k not in ("found_already_in_place", "to")}
            for name, entry in record.items()}


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"a file recorded twice in {EXPORTS_RECORD}: {keys}"
    return dict(pairs)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> dict[str, Path]:
    """Work folders after nothing, prepare, approve and export, each run to the end without a kill."""
    base = tmp_path_factory.mktemp("kill")
    start = base / "start"
    b.make_officers(start)
    shots, previous = {"start": start}, start
    for step in STEPS:
        target = base / step
        shutil.copytree(previous, target)
        child.run_step(step, target)
        shots[step], previous = target, target
    shots["durations"] = {step: _timed_child(step, base, shots) for step in STEPS}
    return shots


def _timed_child(step: str, base: Path, shots) -> float:
    """How long the step's work takes in a child (after "ready"): the window kill instants are drawn from."""
    work = base / f"timing-{step}"
    shutil.copytree(shots[_before(step)], work)
    out = subprocess.run([sys.executable, str(CHILD), step, str(work)], capture_output=True, text=True, check=True)
    return float(out.stdout.split("done ")[1])


def _before(step: str) -> str:
    return "start" if step == "prepare" else STEPS[STEPS.index(step) - 1]


def kill_during(step: str, work: Path, delay_seconds: float) -> bool:
    """Start the step in a child, SIGKILL it `delay_seconds` after it is ready; True when it died by the kill."""
    process = subprocess.Popen([sys.executable, str(CHILD), step, str(work)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(delay_seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    return process.returncode == -signal.SIGKILL


def check_after_kill(work: Path, before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Every visible file is complete: byte for byte its version before the step or after it."""
    for name, data in visible_files(work).items():
        if name == f"payments/{EXPORTS_RECORD}":
            record = export_record({name: data})
            reference = export_record(after)
            assert all(record[k] == reference[k] for k in record), "an export recorded differently"
            continue
        assert data in (before.get(name), after.get(name)), f"{name} is visible but half-written or wrong"


def cases():
    rng = random.Random(SEED)
    return [(step, point, rng.random()) for step in STEPS for point in range(KILL_POINTS)]


@pytest.mark.slow
@pytest.mark.parametrize(("step", "point", "fraction"), cases())
def test_kill_then_rerun_gives_identical_files_and_no_double_hand_over(tmp_path, snapshots, step, point, fraction):
    before = visible_files(snapshots[_before(step)])
    after = visible_files(snapshots[step])
    work = tmp_path / "work"
    shutil.copytree(snapshots[_before(step)], work)
    delay = fraction * snapshots["durations"][step] * 1.1  # seed SEED; the last tenth lets the child finish
    killed = kill_during(step, work, delay)
    check_after_kill(work, before, after)
    handed_over = ({p.name: p.stat().st_ino for p in (work / "outbox").glob("[!.]*")} if step == "export"
                   else {})

    child.run_step(step, work)  # the rerun
    rerun = visible_files(work)
    assert {k: v for k, v in rerun.items() if not k.endswith(EXPORTS_RECORD)} == {
        k: v for k, v in after.items() if not k.endswith(EXPORTS_RECORD)}, f"killed={killed} delay={delay:.3f}"
    assert export_record(rerun) == export_record(after)
    raw_record = json.loads(rerun.get(f"payments/{EXPORTS_RECORD}", b"{}"))
    assert all(entry["to"] == str(work / "outbox") for entry in raw_record.values())
    leftovers = [p.name for folder in FOLDERS for p in sorted((work / folder).glob(".*.tmp"))]
    assert leftovers == [], "temporary files of the killed run are cleaned up by the rerun"
    for name, inode in handed_over.items():  # a file handed over before the kill is not written again
        assert (work / "outbox" / name).stat().st_ino == inode, f"{name} handed over twice"


@pytest.mark.slow
def test_export_after_everything_hands_over_nothing_again(tmp_path, snapshots):
    work = tmp_path / "work"
    shutil.copytree(snapshots["export"], work)
    registry = load_registry(work / "officers.toml")
    inodes = {p.name: p.stat().st_ino for p in (work / "outbox").iterdir()}
    result = export_files(work / "payments", work / "outbox", registry, now=child.EXPORT_NOW)
    assert result.exported == () and result.refused == ()
    assert len(result.already_exported) == child.BATCHES
    assert {p.name: p.stat().st_ino for p in (work / "outbox").iterdir()} == inodes
    payout_ids = [pid for entry in export_record(visible_files(work)).values() for pid in entry["payout_ids"]]
    assert len(payout_ids) == len(set(payout_ids)) == child.BATCHES * child.PAYOUTS_PER_BATCH
    assert all(verify_file(p, registry).ok for p in (work / "outbox").glob("*.txt"))
