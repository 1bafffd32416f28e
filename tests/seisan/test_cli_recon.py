"""`seisan report daily` and `seisan reconcile` without Airflow, on a hand-built warehouse."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reconciliation"))

from recon_tables import NOW, RUN_DATE, empty_world, municipality, open_break  # noqa: E402

from reconciliation.gate import decide_gates  # noqa: E402
from seisan.cli import main  # noqa: E402


def _warehouse(home: Path) -> Path:
    home.mkdir(parents=True)
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        empty_world(con)
        municipality(con, "242012", "津市")
        open_break(con, "BRK-1", "amount_mismatch", "242012", 1_200)
        decide_gates(con, RUN_DATE, materiality_yen=0, now=NOW)
    return warehouse


def test_report_daily_writes_the_report_in_the_language_asked(seisan_home: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    warehouse = _warehouse(seisan_home)
    assert main(["report", "daily", "--date", RUN_DATE.isoformat(), "--language", "en"]) == 0
    page = seisan_home.resolve() / "out" / "2026-11-05" / "reconciliation-2026-11-05.html"
    assert f"reconciliation report: {page}" in capsys.readouterr().out
    assert '<html lang="en">' in page.read_text(encoding="utf-8")
    assert main(["report", "daily", "--date", RUN_DATE.isoformat()]) == 0  # the setting's default: Japanese
    assert '<html lang="ja">' in page.read_text(encoding="utf-8")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select step from audit.step_runs").fetchall() == [("report",), ("report",)]


def test_report_of_a_day_never_reconciled_says_what_to_do(seisan_home: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    seisan_home.mkdir(parents=True)
    duckdb.connect(str(seisan_home / "warehouse.duckdb")).close()
    assert main(["report", "daily", "--date", RUN_DATE.isoformat()]) == 1
    assert "seisan reconcile --date 2026-11-05" in capsys.readouterr().err


def test_reconcile_without_a_warehouse_says_what_to_do(seisan_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", "--date", RUN_DATE.isoformat()]) == 1
    assert "seisan ingest --date 2026-11-05" in capsys.readouterr().err


def test_report_language_is_checked_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "daily", "--date", RUN_DATE.isoformat(), "--language", "fr"])
    assert exit_info.value.code == 2


def test_gate_counts_for_the_demo_line(seisan_home: Path) -> None:
    from seisan.cli_recon import gate_counts
    from seisan.config import load_settings

    _warehouse(seisan_home)
    settings = load_settings(config_file=Path("/nonexistent.toml"))
    assert gate_counts(settings, RUN_DATE) == "gates: 0 open, 1 blocked"
    assert gate_counts(settings, RUN_DATE.replace(day=6)) == "gates: 0 open, 0 blocked"
