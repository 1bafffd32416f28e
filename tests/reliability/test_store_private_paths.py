"""No predictable shared temporary paths (issue 7 §4): the project's code names no folder under the system temp
directory, and dbt's work folder is private to the warehouse's owner."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from seisan import marts

REPO = Path(__file__).resolve().parents[2]
PROJECT_FOLDERS = ("contracts", "ingestion", "seisan", "dags", "simulator", "reader_agent", "dbt", "scripts")
# A fixed name under the shared temp folder, or the insecure mktemp (a name only, created later). The unpredictable,
# private creators (mkdtemp, mkstemp, TemporaryDirectory: 0700 / 0600) are fine.
SHARED_TEMP = re.compile(r"gettempdir|tempfile\.mktemp\(|['\"]/tmp\b|['\"]/var/tmp\b|\$TMPDIR|\bTMPDIR\b")


def _project_files() -> list[Path]:
    files = [REPO / "Makefile", REPO / "seisan.toml"]
    for folder in PROJECT_FOLDERS:
        files += [p for p in (REPO / folder).rglob("*") if p.is_file() and p.suffix in {".py", ".sh", ".yml", ".sql"}]
    return files


def test_project_code_names_no_shared_temporary_path():
    files = _project_files()
    assert len(files) > 50  # the scan sees the project
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if SHARED_TEMP.search(line)
    ]
    assert found == []


def test_the_scan_would_see_one():
    assert SHARED_TEMP.search('Path(tempfile.gettempdir()) / "seisan-dbt"')
    assert SHARED_TEMP.search('open("/tmp/seisan.lock")')
    assert not SHARED_TEMP.search("with tempfile.TemporaryDirectory(prefix='seisan-bench-') as tmp:")


def test_dbt_work_dir_is_beside_the_warehouse_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(marts.HOME_ENV, raising=False)
    warehouse = tmp_path / "w" / "warehouse.duckdb"
    work = marts.prepare_work_dir(warehouse)
    assert work == tmp_path / "w" / "warehouse.dbt"
    assert stat.S_IMODE(work.stat().st_mode) == 0o700
    args = marts.dbt_args(warehouse)
    assert args[args.index("--target-path") + 1] == str(work / "target")


def test_dbt_work_dir_under_seisan_home_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    (home / "dbt").mkdir(parents=True, mode=0o755)
    (home / "dbt").chmod(0o755)
    monkeypatch.setenv(marts.HOME_ENV, str(home))
    work = marts.prepare_work_dir(tmp_path / "elsewhere" / "warehouse.duckdb")
    assert work == home / "dbt" and stat.S_IMODE(work.stat().st_mode) == 0o700
