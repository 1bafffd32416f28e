"""One seisan command at a time on one SEISAN_HOME, tried with real processes: the second waits (saying so) or
gives up with one sentence, never a traceback; two ingests at once load everything exactly once; a killed
holder frees the home."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from seisan.config import REPO_ROOT
from seisan.home_lock import HomeBusy, hold_home
from simulator import simulate

DAY = dt.date(2026, 11, 2)
HOLDER = """
import sys, time
from pathlib import Path
from seisan.home_lock import hold_home
with hold_home(Path(sys.argv[1]), "the test's holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _env(home: Path, wait_seconds: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEISAN_")}
    return env | {"SEISAN_HOME": str(home), "SEISAN_LOCK_WAIT_SECONDS": str(wait_seconds),
                  "SEISAN_INGEST_SETTLE_SECONDS": "0"}  # the test writes its inbox just before


def _seisan(home: Path, *args: str, wait_seconds: float = 60) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "seisan", *args], cwd=REPO_ROOT, env=_env(home, wait_seconds),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _holder(home: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(home), str(seconds)], cwd=REPO_ROOT,
                              env=_env(home, 0), stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def _home_with_inbox(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    simulate(home / "inbox", DAY, 1, 1, 30, 3, faults="typical", workers=1)
    return home


def test_the_second_command_gives_up_with_one_sentence(tmp_path: Path) -> None:
    home = _home_with_inbox(tmp_path, "home")
    holder = _holder(home, 60)
    try:
        started = time.monotonic()
        out, err = _seisan(home, "ingest", "--date", DAY.isoformat(), wait_seconds=1).communicate(timeout=60)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("seisan: `the test's holder` (pid ") and "still using SEISAN_HOME=" in lines[0]
    assert "run this command again when it has finished" in lines[0]
    assert waited >= 1
    assert not (home / "warehouse.duckdb").exists()  # it touched nothing


def test_the_second_command_waits_for_the_first_then_runs(tmp_path: Path) -> None:
    home = _home_with_inbox(tmp_path, "home")
    holder = _holder(home, 2)
    out, err = _seisan(home, "ingest", "--date", DAY.isoformat(), wait_seconds=120).communicate(timeout=120)
    holder.wait(timeout=10)
    assert "Traceback" not in err
    assert "waiting for `the test's holder`" in out
    assert "loaded" in out
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.file_manifest").fetchone()[0] > 0


def test_a_killed_holder_frees_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = _holder(home, 600)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with hold_home(home, "after the kill", wait_seconds=5):
        pass


def _raw_counts(home: Path) -> dict[str, int]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                            "where table_schema = 'raw' order by 1").fetchall()]
        return {t: con.execute(f'select count(*) from raw."{t}"').fetchone()[0] for t in tables}


@pytest.mark.slow
def test_two_ingests_at_once_load_everything_exactly_once(tmp_path: Path) -> None:
    both = _home_with_inbox(tmp_path, "both")
    alone = _home_with_inbox(tmp_path, "alone")
    first, second = (_seisan(both, "ingest", "--date", DAY.isoformat()) for _ in range(2))
    results = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], results
    assert all("Traceback" not in err for _, err in results)
    single = _seisan(alone, "ingest", "--date", DAY.isoformat())
    single.communicate(timeout=300)
    assert single.returncode == 0
    counts = _raw_counts(both)
    assert counts == _raw_counts(alone)
    assert _manifest(both) == _manifest(alone)
    assert len(_manifest(both)) == len(set(_manifest(both)))


def _manifest(home: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select path, file_sha256, status, rows_read, rows_loaded, rows_quarantined "
                           "from raw.file_manifest order by all").fetchall()


def test_the_lock_is_reentrant_in_one_process_and_exclusive_across_processes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with hold_home(home, "outer"), hold_home(home, "inner (a DAG step inside seisan run)", wait_seconds=0):
        probe = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path\n"
                                "from seisan.home_lock import HomeBusy, hold_home\n"
                                "try:\n    hold_home(Path(sys.argv[1]), 'probe', wait_seconds=0).__enter__()\n"
                                "except HomeBusy as e:\n    print(e)\n", str(home)],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert probe.stdout.startswith("`outer` (pid "), probe.stderr
    with hold_home(home, "again", wait_seconds=0):  # released when the outermost holder left
        pass


def test_readers_share_the_home_but_not_with_a_writer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with hold_home(home, "reader 1", shared=True):
        probe = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path\n"
                                "from seisan.home_lock import HomeBusy, hold_home\n"
                                "with hold_home(Path(sys.argv[1]), 'reader 2', shared=True, wait_seconds=0):\n"
                                "    print('shared')\n"
                                "try:\n    hold_home(Path(sys.argv[1]), 'writer', wait_seconds=0).__enter__()\n"
                                "except HomeBusy as e:\n    print('busy')\n", str(home)],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert probe.stdout.split() == ["shared", "busy"], probe.stderr
    with pytest.raises(HomeBusy):
        holder = _holder(home, 30)
        try:
            with hold_home(home, "me", wait_seconds=0.3):
                pass
        finally:
            holder.kill()
            holder.wait()


@pytest.mark.parametrize("command", [
    ("ingest", "--date", DAY.isoformat()),
    ("marts", "--date", DAY.isoformat()),
    ("run", "--date", DAY.isoformat()),
    ("demo", "--keep"),
    ("sql", "select 1"),
])
def test_every_command_on_the_home_keeps_off_while_another_holds_it(tmp_path: Path, command: tuple[str, ...]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "warehouse.duckdb").write_bytes(b"")  # so marts and sql get as far as the lock
    holder = _holder(home, 60)
    before = sorted(p.name for p in home.rglob("*"))
    try:
        out, err = _seisan(home, *command, wait_seconds=0).communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert err.strip().splitlines() == [err.strip()] and "still using SEISAN_HOME=" in err, err
    assert sorted(p.name for p in home.rglob("*")) == before  # no Airflow home, no warehouse change
