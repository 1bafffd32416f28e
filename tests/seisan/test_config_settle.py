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


@pytest.mark.parametrize("name", ["build_memory_limit", "match_memory_limit"])
def test_the_marts_build_and_the_matching_have_memory_limits_of_their_own(tmp_path: Path, name: str) -> None:
    """[warehouse] build_memory_limit and match_memory_limit: 2GB unless set (under 512MB the FIFO engine ran out
    of memory at 2,000,000 residents, the balances pair's join at 3,500,000), in the repository's seisan.toml as
    in the defaults, from a file or the environment, refused as memory_limit is, each leaving the others alone."""
    names = ("memory_limit", "build_memory_limit", "match_memory_limit")
    none = tmp_path / "none.toml"
    assert [getattr(load_settings(config_file=none, env={}), n) for n in names] == ["512MB", "2GB", "2GB"]
    repository = Path(__file__).resolve().parents[2] / "seisan.toml"
    assert getattr(load_settings(config_file=repository, env={}), name) == "2GB"
    assert getattr(load_settings(config_file=none, env={f"SEISAN_WAREHOUSE_{name.upper()}": "3GiB"}), name) == "3GiB"
    config = tmp_path / "seisan.toml"
    config.write_text(f'[warehouse]\n{name} = "1.5GB"\n', encoding="utf-8")
    settings = load_settings(config_file=config, env={})
    assert {n: getattr(settings, n) for n in names} == {"memory_limit": "512MB", "build_memory_limit": "2GB",
                                                        "match_memory_limit": "2GB", name: "1.5GB"}
    for bad in ("2", "-1GB", "10MB"):
        config.write_text(f'[warehouse]\n{name} = "{bad}"\n', encoding="utf-8")
        with pytest.raises(ConfigError, match=f"warehouse.{name}"):
            load_settings(config_file=config, env={})


def test_the_marts_step_builds_under_the_build_memory_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """build_marts_step hands `[warehouse] build_memory_limit` to the build, not the steps' memory_limit."""
    import seisan.marts
    from seisan.steps import build_marts_step

    asked: dict[str, object] = {}

    class Stop(Exception):
        pass

    def build_marts(*args: object, **kwargs: object) -> None:
        asked.update(kwargs)
        raise Stop

    monkeypatch.setattr(seisan.marts, "build_marts", build_marts)
    settings = load_settings(config_file=tmp_path / "none.toml",
                             env={"SEISAN_HOME": str(tmp_path), "SEISAN_WAREHOUSE_BUILD_MEMORY_LIMIT": "3GiB"})
    with pytest.raises(Stop):
        build_marts_step("2026-10-01", settings)
    assert asked["memory_limit"] == "3GiB"


def test_the_reconcile_step_matches_under_the_match_memory_limit(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """reconcile_step's warehouse connection has `[warehouse] match_memory_limit`, not the steps' memory_limit."""
    from reconciliation import engine
    from seisan.steps import reconcile_step

    seen: list[object] = []

    class Stop(Exception):
        pass

    def run_matching(con: object, *args: object, **kwargs: object) -> None:
        seen.append(con.execute("select current_setting('memory_limit')").fetchone()[0])  # type: ignore[attr-defined]
        raise Stop

    monkeypatch.setattr(engine, "run_matching", run_matching)
    settings = load_settings(config_file=tmp_path / "none.toml",
                             env={"SEISAN_HOME": str(tmp_path), "SEISAN_WAREHOUSE_MATCH_MEMORY_LIMIT": "3GiB"})
    with pytest.raises(Stop):
        reconcile_step("2026-10-01", settings)
    assert seen == ["3.0 GiB"]


def test_each_step_connects_to_the_warehouse_under_the_memory_limit(tmp_path: Path) -> None:
    from seisan.steps import _warehouse

    settings = load_settings(config_file=tmp_path / "none.toml",
                             env={"SEISAN_HOME": str(tmp_path), "SEISAN_WAREHOUSE_MEMORY_LIMIT": "1GiB"})
    with _warehouse(settings) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("1.0 GiB",)
    with _warehouse(settings, read_only=True) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("1.0 GiB",)


_PROGRESS_BAR_SETTINGS = """
import sys
from pathlib import Path

import duckdb

from seisan.config import load_settings
from seisan.steps import _warehouse

home = Path(sys.argv[1])
settings = load_settings(config_file=home / "none.toml", env={"SEISAN_HOME": str(home)})
shown = "select current_setting('enable_progress_bar')"
print(duckdb.connect().execute(shown).fetchone()[0])
for read_only in (False, True):
    with _warehouse(settings, read_only=read_only) as con:
        print(con.execute(shown).fetchone()[0])
"""


def test_a_steps_connection_draws_no_progress_bar_on_stdout(tmp_path: Path) -> None:
    """DuckDB's own progress bar would draw on stdout for any statement over two seconds, between the step's
    progress lines, in a task's log and a benchmark's table alike. Asked in a process of its own: under pytest
    DuckDB starts with the bar off, in a step's process (the first line) with it on."""
    import subprocess
    import sys

    shown = subprocess.run([sys.executable, "-c", _PROGRESS_BAR_SETTINGS, str(tmp_path)], check=True,
                           capture_output=True, text=True).stdout.split()
    assert shown == ["True", "False", "False"]


def test_the_marts_build_gets_the_memory_limit_and_duckdbs_default_without_one(tmp_path: Path) -> None:
    """dbt/profiles.yml sets DuckDB's memory_limit from the build's environment (seisan.marts.dbt_env)."""
    import datetime as dt

    from seisan.marts import MEMORY_LIMIT_ENV, dbt_env

    day = dt.date(2026, 10, 1)
    assert dbt_env(tmp_path / "w.duckdb", day, memory_limit="512MB")[MEMORY_LIMIT_ENV] == "512MB"
    assert dbt_env(tmp_path / "w.duckdb", day)[MEMORY_LIMIT_ENV] == "80%"
    profile = (Path(__file__).resolve().parents[2] / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    assert f"memory_limit: \"{{{{ env_var('{MEMORY_LIMIT_ENV}'" in profile
