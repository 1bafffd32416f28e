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
