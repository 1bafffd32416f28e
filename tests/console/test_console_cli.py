"""`seisan console user add|disable|enable|role|list` and the session secret's home."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from console import accounts
from seisan.cli import build_parser, main
from seisan.cli_console import cmd_console, console_secret
from seisan.config import ConfigError, load_settings


def _run(monkeypatch, capsys, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main(["console", "user", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_accounts_from_the_command_line(seisan_home: Path, monkeypatch, capsys) -> None:
    from console_world import fast_hashing

    fast_hashing()
    password = "a long enough password\n"
    assert _run(monkeypatch, capsys, "add", "OFF-SATO", "--role", "officer", "--municipality", "131016",
                "--municipality", "011002", "--password-stdin", stdin=password)[0] == 0
    assert _run(monkeypatch, capsys, "add", "chiyoda", "--role", "municipality", "--municipality", "131016",
                "--password-stdin", stdin=password)[0] == 0
    status, _, err = _run(monkeypatch, capsys, "add", "two", "--role", "municipality", "--municipality", "131016",
                          "--municipality", "011002", "--password-stdin", stdin=password)
    assert status == 1 and "exactly one" in err
    status, _, err = _run(monkeypatch, capsys, "add", "short", "--role", "auditor", "--password-stdin", stdin="x\n")
    assert status == 1 and "12 to" in err
    assert _run(monkeypatch, capsys, "role", "OFF-SATO", "--role", "officer", "--municipality", "*")[0] == 0
    assert _run(monkeypatch, capsys, "disable", "chiyoda")[0] == 0
    status, out, _ = _run(monkeypatch, capsys, "list")
    assert out.splitlines() == ["OFF-SATO: officer (all municipalities)", "chiyoda: municipality (131016) DISABLED"]
    con = accounts.connect(seisan_home / accounts.DB_FILE_NAME)
    assert accounts.authenticate(con, "chiyoda", password.strip()) is None  # disabled
    assert accounts.authenticate(con, "OFF-SATO", password.strip()).all_municipalities
    stored = con.execute("select password_hash from users where username = 'OFF-SATO'").fetchone()[0]
    assert stored.startswith("$argon2id$") and "long enough" not in stored
    assert [r.action for r in reversed(accounts.audit_rows(con))] == ["user add", "user add", "user role",
                                                                      "user disable"]
    assert stat.S_IMODE((seisan_home / accounts.DB_FILE_NAME).stat().st_mode) == 0o600


def test_the_session_secret_is_made_once_0600_or_taken_from_the_environment(seisan_home: Path) -> None:
    settings = load_settings()
    first = console_secret(settings, env={})
    assert console_secret(settings, env={}) == first and len(first) >= 32
    assert stat.S_IMODE((seisan_home / "console-secret").stat().st_mode) == 0o600
    assert console_secret(settings, env={"SEISAN_CONSOLE_SECRET": "s" * 40}) == "s" * 40
    with pytest.raises(ConfigError):
        console_secret(settings, env={"SEISAN_CONSOLE_SECRET": "short"})
    (seisan_home / "console-secret").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        console_secret(settings, env={})


def test_seisan_console_serves_on_loopback_by_default() -> None:
    args = build_parser().parse_args(["console"])
    assert (args.host, args.port, args.handler) == ("127.0.0.1", 8710, cmd_console)


def test_demo_accounts_can_log_in_and_are_renewed(seisan_home: Path) -> None:
    from console_world import fast_hashing

    from seisan.cli_console import console_command_line, demo_accounts

    fast_hashing()
    settings = load_settings()
    first = demo_accounts(settings, "034029")
    assert [(name, role) for name, role, _ in first] == [("OFF-DEMO-KATO", "officer"),
                                                         ("muni-034029", "municipality"), ("auditor", "auditor")]
    again = demo_accounts(settings, "034029")
    con = accounts.connect(seisan_home / accounts.DB_FILE_NAME)
    for (name, _, old), (_, _, new) in zip(first, again, strict=True):
        assert old != new and accounts.authenticate(con, name, new) and not accounts.authenticate(con, name, old)
    assert accounts.get_user(con, "muni-034029").municipalities == frozenset({"034029"})
    assert console_command_line(settings).startswith(f"SEISAN_HOME={seisan_home} uv run seisan console")
