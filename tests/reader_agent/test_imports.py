"""reader_agent must install and run on a shop PC: it imports only `contracts` of this project, and its base
commands work without pyscard."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("simulator", "ingestion", "seisan", "dags", "reconciliation", "payments", "reports", "duckdb",
           "airflow", "polars", "pyarrow", "dbt", "smartcard")

PROBE = f"""
import importlib.abc, sys, pkgutil
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import reader_agent
for module in pkgutil.iter_modules(reader_agent.__path__):
    if module.name != "__main__":
        importlib.import_module("reader_agent." + module.name)
ours = sorted({{m.split(".")[0] for m in sys.modules}} & {{"contracts", "reader_agent", "simulator", "ingestion",
                                                           "seisan"}})
print(",".join(ours))
"""


def test_reader_agent_imports_only_contracts():
    result = subprocess.run([sys.executable, "-c", "import importlib\n" + PROBE], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "contracts,reader_agent"


def test_init_terminal_runs_without_pyscard(tmp_path):
    probe = PROBE.replace("import reader_agent\n", "import reader_agent\nfrom reader_agent.cli import main\n"
                          f"assert main(['--state-dir', {str(tmp_path / 's')!r}, '--lang', 'en', 'init-terminal',"
                          " '--terminal-id', 'T12345678', '--merchant-id', 'M12345678']) == 0\n")
    result = subprocess.run([sys.executable, "-c", "import importlib\n" + probe], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[1]
    terminal_id, merchant_id, key, active_from, active_to = line.split(",")
    assert (terminal_id, merchant_id, active_to) == ("T12345678", "M12345678", "")
    assert (tmp_path / "s" / "terminal_key.pem").stat().st_mode & 0o777 == 0o600
