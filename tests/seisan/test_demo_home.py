from pathlib import Path

import pytest

from seisan.config import ConfigError, load_settings
from seisan.demo import DEMO_MARKER, prepare_demo_home


def _settings(home: Path):
    return load_settings(config_file=Path("/nonexistent.toml"), env={"SEISAN_HOME": str(home)})


def test_refuses_a_home_with_foreign_data(tmp_path: Path) -> None:
    home = tmp_path / "real"
    home.mkdir()
    (home / "ledger.xlsx").write_text("someone's work")
    with pytest.raises(ConfigError, match="no demo wrote"):
        prepare_demo_home(_settings(home), fresh=True)
    assert (home / "ledger.xlsx").exists()


def test_fresh_start_clears_only_what_a_demo_owns(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    settings = _settings(home)
    prepare_demo_home(settings, fresh=True)
    assert (home / DEMO_MARKER).is_file()
    (home / "inbox" / "master").mkdir(parents=True)
    (home / "warehouse.duckdb").write_bytes(b"x")
    (home / "airflow").mkdir()
    (home / "airflow" / "airflow.db").write_bytes(b"keep")
    prepare_demo_home(settings, fresh=True)
    assert not (home / "inbox").exists()
    assert not (home / "warehouse.duckdb").exists()
    assert (home / "airflow" / "airflow.db").read_bytes() == b"keep"


def test_keep_leaves_everything(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    settings = _settings(home)
    prepare_demo_home(settings, fresh=True)
    (home / "warehouse.duckdb").write_bytes(b"x")
    prepare_demo_home(settings, fresh=False)
    assert (home / "warehouse.duckdb").exists()
