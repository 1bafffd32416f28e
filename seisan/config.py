"""seisan's configuration: `seisan.toml` plus environment overrides. The only place that reads either.

Packages never read configuration themselves: the command line and the DAG steps build a `Settings` here and
pass plain values (paths, limits) down. Secrets never live in the repository: anything secret is read from
the environment.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seisan.home_lock import DEFAULT_WAIT_SECONDS

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = REPO_ROOT / "seisan.toml"

DEFAULTS: dict[str, dict[str, Any]] = {
    "paths": {"home": "./var", "inbox": ""},
    "ingest": {"max_file_bytes": 64 * 1024 ** 3, "max_records": 100_000_000, "settle_seconds": 5,
               "archive": False, "archive_dir": ""},
    "demo": {"start": "2026-11-02", "days": 8, "municipalities": 3, "residents": 2500, "seed": 20261126,
             "faults": "typical"},
    "officer": {"id": "", "key_dir": ""},
    "gate": {"materiality_yen": 0},
    "report": {"language": "ja"},
    "warehouse": {"memory_limit": "512MB", "build_memory_limit": "2GB", "match_memory_limit": "2GB"},
    "payments": {"officers_file": "", "export_dir": ""},
}
REPORT_LANGUAGES = ("ja", "en")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """The world `seisan demo` builds: first business date, number of days, size, seed and fault level."""

    start: dt.date
    days: int
    municipalities: int
    residents: int
    seed: int
    faults: str


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings.

    home: SEISAN_HOME; inbox: delivered files; warehouse: the DuckDB file; raw_dir: raw Parquet;
    airflow_home: embedded Airflow metadata and logs; out_dir: outputs per business date;
    max_file_bytes / max_records: ingestion limits; settle_seconds: a file modified less than this long
    before an ingest is left for the next run (the delivery rule, docs/formats.md); demo: the demo world;
    lock_wait_seconds: how long a command waits for another one to release the home (SEISAN_LOCK_WAIT_SECONDS);
    officer_id: `[officer] id` (SEISAN_OFFICER_ID), who runs the officer commands (breaks, payments
    prepare/approve) when no `--officer` is given, "" = none; officer_key_dir: where officers' private keys live
    (`[officer] key_dir`, default $XDG_CONFIG_HOME/seisan/officer-keys, never in the repository);
    materiality_yen: a municipality's open breaks may hold up to this many yen at risk and its gate still opens;
    report_language: the daily reconciliation report's language ("ja" or "en");
    officers_file: the officer registry (`[payments] officers_file`, default <home>/officers.toml);
    payments_export_dir: the bank hand-over folder of `seisan payments export` (default <home>/bank-outbox);
    archive_dir: where an ingest moves the files it has settled (`[ingest] archive`, `archive_dir`, default
    <inbox>/archive; ingestion.archive), None = the inbox keeps every file;
    memory_limit: DuckDB's memory_limit on the steps' warehouse connections (`[warehouse] memory_limit`);
    build_memory_limit: DuckDB's memory_limit during the dbt builds of the marts (`[warehouse] build_memory_limit`);
    match_memory_limit: DuckDB's memory_limit during the reconcile step's matching (`[warehouse] match_memory_limit`).
    """

    home: Path
    inbox: Path
    warehouse: Path
    raw_dir: Path
    airflow_home: Path
    out_dir: Path
    max_file_bytes: int
    max_records: int
    demo: DemoSettings
    settle_seconds: int = 5
    lock_wait_seconds: float = DEFAULT_WAIT_SECONDS
    officer_id: str = ""
    materiality_yen: int = 0
    report_language: str = "ja"
    officer_key_dir: Path = Path("~/.config/seisan/officer-keys")
    officers_file: Path = Path("officers.toml")
    payments_export_dir: Path = Path("bank-outbox")
    archive_dir: Path | None = None
    memory_limit: str = "512MB"
    build_memory_limit: str = "2GB"
    match_memory_limit: str = "2GB"


def _merge(base: dict[str, dict[str, Any]], extra: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    merged = {section: dict(values) for section, values in base.items()}
    for section, values in extra.items():
        if section not in merged or not isinstance(values, Mapping):
            raise ConfigError(f"unknown section [{section}] in the configuration file; known: {sorted(merged)}")
        for key, value in values.items():
            if key not in merged[section]:
                raise ConfigError(f"unknown key {section}.{key}; known: {sorted(merged[section])}")
            merged[section][key] = value
    return merged


def _apply_env(values: dict[str, dict[str, Any]], env: Mapping[str, str]) -> None:
    if env.get("SEISAN_HOME"):
        values["paths"]["home"] = env["SEISAN_HOME"]
    if env.get("SEISAN_INBOX"):
        values["paths"]["inbox"] = env["SEISAN_INBOX"]
    for section, keys in values.items():
        for key, current in keys.items():
            name = f"SEISAN_{section}_{key}".upper()
            if name in env and section != "paths":
                values[section][key] = _coerce(name, env[name], current)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _coerce(name: str, raw: str, current: Any) -> Any:
    if isinstance(current, bool):
        if raw.strip().lower() in _TRUE + _FALSE:
            return raw.strip().lower() in _TRUE
        raise ConfigError(f"{name}={raw!r} is not true or false (1/0, yes/no, on/off)")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    return raw


def _positive(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def _lock_wait_seconds(env: Mapping[str, str]) -> float:
    raw = env.get("SEISAN_LOCK_WAIT_SECONDS", "")
    if not raw:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise ConfigError(f"SEISAN_LOCK_WAIT_SECONDS={raw!r} is not a number of seconds") from exc
    if not 0 <= seconds <= 86_400:
        raise ConfigError(f"SEISAN_LOCK_WAIT_SECONDS must be between 0 and 86400, got {raw!r}")
    return seconds


def _non_negative(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{name} must be a whole number of seconds, 0 or more, got {value!r}")
    return value


def _non_negative_yen(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{name} must be a whole number of yen, 0 or more, got {value!r}")
    return value


def _report_language(value: Any) -> str:
    if value not in REPORT_LANGUAGES:
        raise ConfigError(f"report.language must be one of {', '.join(REPORT_LANGUAGES)}, got {value!r}")
    return str(value)


def _officer_key_dir(configured: str, env: Mapping[str, str]) -> Path:
    """`[officer] key_dir`, else the user's config folder: private keys never live under SEISAN_HOME or the
    repository (payments.officers refuses a key folder inside a git work tree)."""
    if configured:
        return Path(configured).expanduser().resolve()
    config_home = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config").expanduser()
    return (config_home / "seisan" / "officer-keys").resolve()


def load_settings(config_file: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the configuration file (SEISAN_CONFIG, else ./seisan.toml, else the repository's) and the
    environment, and resolve every path to an absolute one."""
    env = os.environ if env is None else env
    if config_file is None and env.get("SEISAN_CONFIG"):
        config_file = Path(env["SEISAN_CONFIG"])
    if config_file is None:
        local = Path("seisan.toml")
        config_file = local if local.is_file() else DEFAULT_CONFIG_FILE
    values = {section: dict(keys) for section, keys in DEFAULTS.items()}
    if config_file.is_file():
        try:
            values = _merge(values, tomllib.loads(config_file.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file} is not valid TOML: {exc}") from exc
    elif env.get("SEISAN_CONFIG"):
        raise ConfigError(f"SEISAN_CONFIG names {config_file}, which does not exist")
    _apply_env(values, env)
    home = Path(values["paths"]["home"]).expanduser().resolve()
    inbox = Path(values["paths"]["inbox"]).expanduser().resolve() if values["paths"]["inbox"] else home / "inbox"
    demo = values["demo"]
    try:
        demo_start = dt.date.fromisoformat(str(demo["start"]))
    except ValueError as exc:
        raise ConfigError(f"demo.start must be YYYY-MM-DD, got {demo['start']!r}") from exc
    if demo["faults"] not in ("none", "typical", "hostile"):
        raise ConfigError(f"demo.faults must be none, typical or hostile, got {demo['faults']!r}")
    return Settings(
        home=home, inbox=inbox, warehouse=home / "warehouse.duckdb", raw_dir=home / "raw",
        airflow_home=home / "airflow", out_dir=home / "out",
        max_file_bytes=_positive("ingest.max_file_bytes", values["ingest"]["max_file_bytes"]),
        max_records=_positive("ingest.max_records", values["ingest"]["max_records"]),
        demo=DemoSettings(start=demo_start, days=_positive("demo.days", demo["days"]),
                          municipalities=_positive("demo.municipalities", demo["municipalities"]),
                          residents=_positive("demo.residents", demo["residents"]),
                          seed=int(demo["seed"]), faults=str(demo["faults"])),
        settle_seconds=_non_negative("ingest.settle_seconds", values["ingest"]["settle_seconds"]),
        lock_wait_seconds=_lock_wait_seconds(env),
        officer_id=str(values["officer"]["id"]).strip(),
        materiality_yen=_non_negative_yen("gate.materiality_yen", values["gate"]["materiality_yen"]),
        report_language=_report_language(values["report"]["language"]),
        officer_key_dir=_officer_key_dir(str(values["officer"]["key_dir"]), env),
        officers_file=(Path(values["payments"]["officers_file"]).expanduser().resolve()
                       if values["payments"]["officers_file"] else home / "officers.toml"),
        payments_export_dir=(Path(values["payments"]["export_dir"]).expanduser().resolve()
                             if values["payments"]["export_dir"] else home / "bank-outbox"),
        archive_dir=_archive_dir(values["ingest"], inbox),
        memory_limit=_memory_limit("warehouse.memory_limit", values["warehouse"]["memory_limit"]),
        build_memory_limit=_memory_limit("warehouse.build_memory_limit", values["warehouse"]["build_memory_limit"]),
        match_memory_limit=_memory_limit("warehouse.match_memory_limit", values["warehouse"]["match_memory_limit"]),
    )


_MEMORY_LIMIT = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT])(?P<binary>i?)B", re.IGNORECASE)
_MEMORY_LIMIT_FLOOR = 64 * 1024 ** 2  # below this DuckDB cannot run the step's queries at all


def _memory_limit(name: str, value: Any) -> str:
    """A DuckDB memory_limit as DuckDB reads it: a number and a unit (KB, MB, GB, TB: powers of 1000; KiB .. TiB:
    powers of 1024), e.g. "512MB", at least 64 MiB."""
    text = str(value).strip()
    match = _MEMORY_LIMIT.fullmatch(text)
    if match is None:
        raise ConfigError(f"{name} must be a size such as \"512MB\" or \"2GB\", got {value!r}")
    power = "KMGT".index(match["unit"].upper()) + 1
    if float(match["number"]) * (1024 if match["binary"] else 1000) ** power < _MEMORY_LIMIT_FLOOR:
        raise ConfigError(f"{name} must be at least 64MiB (DuckDB needs it to run a query), got {value!r}")
    return text


def _archive_dir(ingest: Mapping[str, Any], inbox: Path) -> Path | None:
    if not isinstance(ingest["archive"], bool):
        raise ConfigError(f"ingest.archive must be true or false, got {ingest['archive']!r}")
    if not ingest["archive"]:
        return None
    from ingestion.archive import check_archive, default_archive

    folder = str(ingest["archive_dir"]).strip()
    path = Path(folder).expanduser().resolve() if folder else default_archive(inbox)
    try:
        check_archive(inbox, path)
    except ValueError as exc:
        raise ConfigError(f"ingest.archive_dir: {exc}") from exc
    return path
