"""payments.officers and `seisan officer init`: key files 0600 outside any git work tree, the registry's parse
errors, and the command line."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
from pathlib import Path

import pytest

from payments.officers import (
    OfficerError,
    init_officer_key,
    load_private_key,
    load_registry,
    parse_registry,
    public_key_text,
)
from seisan.cli_payments_file import add_officer_commands, add_payments_file_commands
from seisan.config import REPO_ROOT


def test_init_writes_a_0600_key_in_a_0700_folder_and_a_block_that_registers(tmp_path):
    old_umask = os.umask(0o000)  # even a careless umask gives nobody else access
    try:
        path, block = init_officer_key(tmp_path / "keys", "OFF-SATO", "Sato Hanako")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert b"PRIVATE KEY" in path.read_bytes() and b"PRIVATE KEY" not in block.encode()
    registry = parse_registry(block, Path("officers.toml"))
    officer = registry.get("OFF-SATO")
    assert (officer.name, officer.roles) == ("Sato Hanako", frozenset({"preparer"}))
    assert officer.public_key == public_key_text(load_private_key(tmp_path / "keys", "OFF-SATO").public_key())


def test_init_never_overwrites_a_key(tmp_path):
    path, _ = init_officer_key(tmp_path, "OFF-SATO", "Sato")
    before = path.read_bytes()
    with pytest.raises(OfficerError, match="never overwritten"):
        init_officer_key(tmp_path, "OFF-SATO", "Sato")
    assert path.read_bytes() == before


def test_key_dir_inside_a_git_work_tree_is_refused(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    for inside in (tmp_path / "repo", tmp_path / "repo" / "deep" / "keys"):
        with pytest.raises(OfficerError, match="inside the git work tree"):
            init_officer_key(inside, "OFF-SATO", "Sato")
    assert not (tmp_path / "repo" / "deep").exists()


def test_key_dir_inside_this_repository_is_refused():
    with pytest.raises(OfficerError, match="inside the git work tree"):
        init_officer_key(REPO_ROOT / "var" / "keys", "OFF-SATO", "Sato", repository_root=REPO_ROOT)
    assert not (REPO_ROOT / "var" / "keys" / "OFF-SATO.ed25519.pem").exists()


def test_a_key_readable_by_others_is_refused(tmp_path):
    path, _ = init_officer_key(tmp_path, "OFF-SATO", "Sato")
    path.chmod(0o644)
    with pytest.raises(OfficerError, match="readable by others"):
        load_private_key(tmp_path, "OFF-SATO")
    with pytest.raises(OfficerError, match="has no key"):
        load_private_key(tmp_path, "OFF-KATO")



def _key(tmp_path: Path, officer_id: str) -> str:
    _, block = init_officer_key(tmp_path, officer_id, officer_id)
    return block.split('public_key = "')[1].split('"')[0]


def _entry(officer_id: str, key: str, roles: str = '["preparer"]', name: str = "A Name") -> str:
    return f'[[officers]]\nid = "{officer_id}"\nname = "{name}"\nroles = {roles}\npublic_key = "{key}"\n'


@pytest.mark.parametrize(("make", "message"), [
    (lambda k1, k2: "[[officers]\n", "not valid TOML"),
    (lambda k1, k2: _entry("OFF-A", k1).replace('name = "A Name"\n', ""), "missing"),
    (lambda k1, k2: _entry("OFF-A", k1) + 'extra = 1\n', "unknown"),
    (lambda k1, k2: _entry("OFF-A", k1, roles='["auditor"]'), "roles"),
    (lambda k1, k2: _entry("OFF-A", k1, roles="[]"), "roles"),
    (lambda k1, k2: _entry("OFF A", k1), "id"),
    (lambda k1, k2: _entry("OFF-A", k1, name=" "), "name is empty"),
    (lambda k1, k2: _entry("OFF-A", k1) + _entry("OFF-A", k2), "registered twice"),
    (lambda k1, k2: _entry("OFF-A", k1) + _entry("OFF-B", k1), "share one public key"),
    (lambda k1, k2: _entry("OFF-A", k1.replace("ed25519:", "rsa:")), "does not start with"),
    (lambda k1, k2: _entry("OFF-A", "ed25519:AAAA"), "holds 3 bytes"),
    (lambda k1, k2: _entry("OFF-A", "ed25519:not base64!"), "not valid base64"),
    (lambda k1, k2: 'admin = "x"\n' + _entry("OFF-A", k1), "unknown top-level"),
])
def test_registry_parse_errors_name_the_file_and_officer(tmp_path, make, message):
    text = make(_key(tmp_path, "K1"), _key(tmp_path, "K2"))
    with pytest.raises(OfficerError, match=message) as error:
        parse_registry(text, tmp_path / "officers.toml")
    assert "officers.toml" in str(error.value)


def test_non_canonical_key_spelling_is_refused(tmp_path):
    """Two spellings of one key (unused base64 bits) would let one key pass for two officers."""
    key = _key(tmp_path, "K1")
    body = key.removeprefix("ed25519:")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = body[:42] + alphabet[alphabet.index(body[42]) ^ 1] + "="
    with pytest.raises(OfficerError, match="canonical"):
        parse_registry(_entry("OFF-A", "ed25519:" + twin), tmp_path / "officers.toml")


def test_missing_registry_says_how_to_make_one(tmp_path):
    with pytest.raises(OfficerError, match="no officer registry"):
        load_registry(tmp_path / "officers.toml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seisan")
    commands = parser.add_subparsers(dest="command", required=True)
    add_officer_commands(commands)
    payments = commands.add_parser("payments").add_subparsers(dest="payments_command", required=True)
    add_payments_file_commands(payments)
    return parser


def test_officer_init_command_prints_the_block_and_keeps_the_key_private(tmp_path, capsys, seisan_home):
    args = _parser().parse_args(["officer", "init", "--id", "OFF-KATO", "--name", "Kato Jiro",
                                 "--key-dir", str(tmp_path / "keys")])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert 'id = "OFF-KATO"' in out and "public_key = \"ed25519:" in out and "PRIVATE" not in out
    assert stat.S_IMODE((tmp_path / "keys" / "OFF-KATO.ed25519.pem").stat().st_mode) == 0o600


def test_officer_init_command_refuses_the_repository(seisan_home):
    args = _parser().parse_args(["officer", "init", "--id", "OFF-KATO", "--name", "Kato",
                                 "--key-dir", str(REPO_ROOT / "tmp-keys")])
    with pytest.raises(OfficerError, match="inside the git work tree"):
        args.handler(args)
    assert not (REPO_ROOT / "tmp-keys").exists()


def test_settings_for_officers_and_payment_files(tmp_path):
    from seisan.config import load_settings

    none = Path("/nonexistent/seisan.toml")
    defaults = load_settings(config_file=none, env={"SEISAN_HOME": str(tmp_path / "home"),
                                                    "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert defaults.officer_id == ""
    assert defaults.officer_key_dir == (tmp_path / "cfg" / "seisan" / "officer-keys").resolve()
    assert defaults.officers_file == (tmp_path / "home" / "officers.toml").resolve()
    assert defaults.payments_export_dir == (tmp_path / "home" / "bank-outbox").resolve()
    chosen = load_settings(config_file=none, env={"SEISAN_OFFICER_ID": "OFF-KATO",
                                                  "SEISAN_OFFICER_KEY_DIR": str(tmp_path / "k"),
                                                  "SEISAN_PAYMENTS_OFFICERS_FILE": str(tmp_path / "o.toml")})
    assert (chosen.officer_id, chosen.officer_key_dir, chosen.officers_file) == (
        "OFF-KATO", (tmp_path / "k").resolve(), (tmp_path / "o.toml").resolve())
