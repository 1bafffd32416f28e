"""reader_agent must install and run on a shop PC: it imports only `contracts` of this project, and its base
commands work without pyscard. Its test harness (reader_harness) stands outside the simulated world: it imports
only `contracts` and `reader_agent`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
OURS = ("contracts", "reader_agent", "reader_harness", "simulator", "ingestion", "seisan", "dags", "reconciliation",
        "payments", "reports")
THIRD_PARTY_BLOCKED = ("duckdb", "airflow", "polars", "pyarrow", "dbt")


def _probe(package: str, allowed: tuple[str, ...], also_blocked: tuple[str, ...] = (), setup: str = "") -> str:
    """Python source that blocks every package of ours outside `allowed` (and `also_blocked`), imports every
    module of `package`, runs `setup`, and prints which of our packages ended up loaded."""
    blocked = tuple(p for p in OURS if p not in allowed) + THIRD_PARTY_BLOCKED + also_blocked
    return f"""
import importlib, importlib.abc, sys, pkgutil
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import {package}
for module in pkgutil.walk_packages({package}.__path__, "{package}."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
{setup}
print(",".join(sorted({{m.split(".")[0] for m in sys.modules}} & {set(OURS)!r})))
"""


def _run(source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)


@pytest.mark.parametrize(("package", "allowed", "also_blocked"), [
    ("reader_agent", ("contracts", "reader_agent"), ("smartcard",)),
    ("reader_harness", ("contracts", "reader_agent", "reader_harness"), ()),
])
def test_package_imports_only_what_its_room_allows(package, allowed, also_blocked):
    result = _run(_probe(package, allowed, also_blocked))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == ",".join(sorted(allowed))


def test_init_terminal_runs_without_pyscard(tmp_path):
    setup = ("from reader_agent.cli import main\n"
             f"assert main(['--state-dir', {str(tmp_path / 's')!r}, '--lang', 'en', 'init-terminal',"
             " '--terminal-id', 'T12345678', '--merchant-id', 'M12345678']) == 0\n")
    result = _run(_probe("reader_agent", ("contracts", "reader_agent"), ("smartcard",), setup))
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[1]
    terminal_id, merchant_id, key, active_from, active_to = line.split(",")
    assert (terminal_id, merchant_id, active_to) == ("T12345678", "M12345678", "")
    assert (tmp_path / "s" / "terminal_key.pem").stat().st_mode & 0o777 == 0o600
