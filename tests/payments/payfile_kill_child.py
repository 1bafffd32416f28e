"""Child process of tests/payments/test_kill_file.py: runs one payment-file step on the kill test's batches and is
killed with SIGKILL by the parent at a random instant.

    python payfile_kill_child.py prepare|approve|export WORKDIR

WORKDIR holds keys/ and officers.toml (made by the parent); the step works on WORKDIR/payments and
WORKDIR/outbox. Prints "ready" once imports and keys are loaded (the parent starts its clock then), and
"done <seconds>" at the end.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import payfile_builders as b  # noqa: E402

from payments.file_steps import approve_file, export_files, payment_files, prepare_batches  # noqa: E402
from payments.officers import load_private_key, load_registry  # noqa: E402

BATCHES = 24
PAYOUTS_PER_BATCH = 60
EXPORT_NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def kill_test_batches():
    return [b.big_batch(index, PAYOUTS_PER_BATCH) for index in range(BATCHES)]


def run_step(step: str, work: Path, ready=lambda: None) -> None:
    registry = load_registry(work / "officers.toml")
    payments_dir, outbox = work / "payments", work / "outbox"
    if step == "prepare":
        batches, key = kill_test_batches(), load_private_key(work / "keys", "OFF-SATO")
        ready()
        prepare_batches(batches, payments_dir, "OFF-SATO", key, registry)
    elif step == "approve":
        key = load_private_key(work / "keys", "OFF-KATO")
        ready()
        for path in payment_files(payments_dir):
            approve_file(path, "OFF-KATO", key, registry)
    elif step == "export":
        ready()
        export_files(payments_dir, outbox, registry, now=EXPORT_NOW)
    else:
        raise SystemExit(f"unknown step {step!r}")


def main() -> None:
    step, work = sys.argv[1], Path(sys.argv[2])
    started = [0.0]

    def ready() -> None:
        print("ready", flush=True)
        started[0] = time.monotonic()

    run_step(step, work, ready)
    print(f"done {time.monotonic() - started[0]:.4f}", flush=True)


if __name__ == "__main__":
    main()
