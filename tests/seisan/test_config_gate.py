"""The gate's and the report's settings: defaults, the file, the environment, and refusals of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from seisan.config import ConfigError, load_settings


def test_defaults_any_yen_at_risk_blocks_and_the_report_is_in_japanese(tmp_path: Path) -> None:
    settings = load_settings(config_file=tmp_path / "absent.toml", env={})
    assert (settings.materiality_yen, settings.report_language) == (0, "ja")


def test_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "seisan.toml"
    config.write_text('[gate]\nmateriality_yen = 10000\n[report]\nlanguage = "en"\n', encoding="utf-8")
    settings = load_settings(config_file=config, env={})
    assert (settings.materiality_yen, settings.report_language) == (10_000, "en")
    settings = load_settings(config_file=config, env={"SEISAN_GATE_MATERIALITY_YEN": "500",
                                                      "SEISAN_REPORT_LANGUAGE": "ja"})
    assert (settings.materiality_yen, settings.report_language) == (500, "ja")


@pytest.mark.parametrize("text", ["[gate]\nmateriality_yen = -1\n", "[gate]\nmateriality_yen = 1.5\n",
                                  '[gate]\nmateriality_yen = "1000"\n', '[report]\nlanguage = "fr"\n'])
def test_bad_values_are_refused(tmp_path: Path, text: str) -> None:
    config = tmp_path / "seisan.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="materiality_yen|report.language"):
        load_settings(config_file=config, env={})
