"""The code stays lint-clean (ruff, with the rules in pyproject.toml: pyflakes, pycodestyle, isort, bugbear,
pyupgrade and Airflow's AIR rules for deprecated Airflow imports)."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    completed = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                               cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
