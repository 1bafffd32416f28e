"""Fixtures shared by every test folder. Folder-specific fixtures live in that folder's conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def seisan_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty SEISAN_HOME for one test, with no configuration file or inbox override leaking in."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEISAN_HOME", str(home))
    monkeypatch.delenv("SEISAN_INBOX", raising=False)
    monkeypatch.delenv("SEISAN_CONFIG", raising=False)
    monkeypatch.setenv("SEISAN_INGEST_SETTLE_SECONDS", "0")  # tests deliver complete files and ingest at once
    return home


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# The longest test files, started first so that neither worker is left with a long one at the end (from
# `make test PYTEST_ARGS="--durations=80"`); every other file keeps its place.
LONGEST_FIRST = (  # measured 2026-12-05: seconds of the file's tests on one worker
    "tests/seisan/test_sharded_run.py",                          # 463
    "tests/reconciliation/test_simulated_breaks.py",             # 390
    "tests/reconciliation/test_quality.py",                      # 147
    "tests/seisan/test_daily_dag.py",                            # 112
    "tests/dbt/test_changed_days_tests.py",                      # 107
    "tests/seisan/test_cli.py",                                  # 96
    "tests/dbt/test_marts_late_masters.py",                      # 94
    "tests/dbt/test_marts_scenarios.py",                         # 79
    "tests/dbt/test_marts_incremental.py",                       # 75
    "tests/dbt/test_marts_late_masters_property.py",             # 69
    "tests/dbt/test_sqlfluff.py",                                # 52
    "tests/reliability/test_reliability_pii_scan_seisan_run.py",  # 45
    "tests/payments/test_bank_simulated.py",                     # 42
    "tests/payments/test_payments_simulated.py",                 # 40
    "tests/dbt/test_marts_simulated.py",                         # 40
)


def _xdist_group(item: pytest.Item) -> str:
    return "pcsc" if "pcsc_stack" in getattr(item, "fixturenames", ()) else item.nodeid.split("::")[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadgroup`). Each test file stays on
    one worker, so module- and session-scoped worlds are built once, and every test that drives the PC/SC stack
    shares one worker, because a host has one pcscd. The group is the `@name` suffix of a test's id, which the
    scheduler reads; pytest-xdist 3.8 writes it into `item._nodeid`, which pytest 9 no longer reads (it keeps the
    id in `item._id`), so it is written here, on the worker, after xdist's own hook. The longest files go first.
    A plain `pytest` (no -n) runs in the usual order."""
    if not getattr(config.option, "loadgroup", False):
        return
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: files stay whole
    for item in items:
        if "@" not in item.nodeid:
            setattr(item, "_id" if hasattr(item, "_id") else "_nodeid", f"{item.nodeid}@{_xdist_group(item)}")
