"""[ingest] settle_seconds: documented default, environment override, refused when negative."""

from __future__ import annotations

from pathlib import Path

import pytest

from seisan.config import ConfigError, load_settings


def test_default_and_override(tmp_path: Path) -> None:
    assert load_settings(config_file=tmp_path / "none.toml", env={}).settle_seconds == 5
    env = {"SEISAN_INGEST_SETTLE_SECONDS": "0"}
    assert load_settings(config_file=tmp_path / "none.toml", env=env).settle_seconds == 0
    config = tmp_path / "seisan.toml"
    config.write_text("[ingest]\nsettle_seconds = 30\n", encoding="utf-8")
    assert load_settings(config_file=config, env={}).settle_seconds == 30


def test_negative_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "seisan.toml"
    config.write_text("[ingest]\nsettle_seconds = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="settle_seconds"):
        load_settings(config_file=config, env={})


def test_the_warehouse_memory_limit_is_a_duckdb_size_of_at_least_64_mib(tmp_path: Path) -> None:
    """[warehouse] memory_limit: documented default, file and environment, and refused unless DuckDB can take it."""
    none = tmp_path / "none.toml"
    assert load_settings(config_file=none, env={}).memory_limit == "512MB"
    assert load_settings(config_file=none, env={"SEISAN_WAREHOUSE_MEMORY_LIMIT": "2GB"}).memory_limit == "2GB"
    config = tmp_path / "seisan.toml"
    for good in ("1.5GiB", "64MiB", "1 gb"):
        config.write_text(f'[warehouse]\nmemory_limit = "{good}"\n', encoding="utf-8")
        assert load_settings(config_file=config, env={}).memory_limit == good
    for bad in ("512", "lots", "-1GB", "0MB", "67MB", "10KB"):   # 67 MB = 63.9 MiB
        config.write_text(f'[warehouse]\nmemory_limit = "{bad}"\n', encoding="utf-8")
        with pytest.raises(ConfigError, match="warehouse.memory_limit"):
            load_settings(config_file=config, env={})


def test_each_step_connects_to_the_warehouse_under_the_memory_limit(tmp_path: Path) -> None:
    from seisan.steps import _warehouse

    settings = load_settings(config_file=tmp_path / "none.toml",
                             env={"SEISAN_HOME": str(tmp_path), "SEISAN_WAREHOUSE_MEMORY_LIMIT": "1GiB"})
    with _warehouse(settings) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("1.0 GiB",)
    with _warehouse(settings, read_only=True) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("1.0 GiB",)


def test_the_marts_build_gets_the_memory_limit_and_duckdbs_default_without_one(tmp_path: Path) -> None:
    """dbt/profiles.yml sets DuckDB's memory_limit from the build's environment (seisan.marts.dbt_env)."""
    import datetime as dt

    from seisan.marts import MEMORY_LIMIT_ENV, dbt_env

    day = dt.date(2026, 10, 1)
    assert dbt_env(tmp_path / "w.duckdb", day, memory_limit="512MB")[MEMORY_LIMIT_ENV] == "512MB"
    assert dbt_env(tmp_path / "w.duckdb", day)[MEMORY_LIMIT_ENV] == "80%"
    profile = (Path(__file__).resolve().parents[2] / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    assert f"memory_limit: \"{{{{ env_var('{MEMORY_LIMIT_ENV}'" in profile
