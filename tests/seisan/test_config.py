import datetime as dt
import tomllib
from pathlib import Path

import pytest

from seisan.config import ConfigError, load_settings


def test_defaults_put_everything_under_home(tmp_path: Path) -> None:
    settings = load_settings(config_file=tmp_path / "absent.toml", env={"SEISAN_HOME": str(tmp_path / "h")})
    home = (tmp_path / "h").resolve()
    assert settings.home == home
    assert settings.inbox == home / "inbox"
    assert settings.warehouse == home / "warehouse.duckdb"
    assert settings.raw_dir == home / "raw"
    assert settings.airflow_home == home / "airflow"
    assert settings.out_dir == home / "out"
    assert settings.max_file_bytes == 64 * 1024**3  # a national first day's certificates (~13 GB) fit
    assert settings.max_records == 100_000_000


def test_file_then_environment_override(tmp_path: Path) -> None:
    config = tmp_path / "seisan.toml"
    config.write_text('[ingest]\nmax_records = 10\n[demo]\nstart = "2027-01-04"\ndays = 3\n')
    settings = load_settings(config_file=config, env={"SEISAN_INGEST_MAX_RECORDS": "20",
                                                      "SEISAN_INBOX": str(tmp_path / "in")})
    assert settings.max_records == 20
    assert settings.demo.start == dt.date(2027, 1, 4)
    assert settings.demo.days == 3
    assert settings.inbox == (tmp_path / "in").resolve()


@pytest.mark.parametrize("text, message", [
    ("[ingest]\nmax_records = 0\n", "positive"),
    ("[ingest]\nmax_rows = 5\n", "unknown key ingest.max_rows"),
    ("[nope]\nx = 1\n", "unknown section"),
    ('[demo]\nfaults = "some"\n', "none, typical or hostile"),
    ("[ingest\n", "not valid TOML"),
])
def test_bad_configuration_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "seisan.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config_file=config, env={})


def test_bad_environment_integer(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SEISAN_INGEST_MAX_FILE_BYTES"):
        load_settings(config_file=tmp_path / "none.toml", env={"SEISAN_INGEST_MAX_FILE_BYTES": "lots"})


def test_repository_config_file_matches_defaults() -> None:
    from seisan.config import DEFAULT_CONFIG_FILE, DEFAULTS, load_settings

    from_file = load_settings(config_file=DEFAULT_CONFIG_FILE, env={})
    from_defaults = load_settings(config_file=Path("/nonexistent/seisan.toml"), env={})
    assert from_file == from_defaults, "seisan.toml documents the defaults; keep the two equal"
    assert set(DEFAULTS) == set(tomllib.loads(DEFAULT_CONFIG_FILE.read_text(encoding="utf-8"))), \
        "seisan.toml documents every section"
