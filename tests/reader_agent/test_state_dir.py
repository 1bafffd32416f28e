"""The state directory is private whoever created it (issue 7 §5): every directory 0700, every file 0600,
whatever the umask; loose modes of our own are tightened on start; a terminal key that group or others may
read is refused with the command to run; an open entry of another user (which we may not chmod) is refused.
No PC/SC needed: the agent's real commands and store run on a temporary directory."""

from __future__ import annotations

import datetime as dt
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader_agent.cli import main
from reader_agent.store import TerminalStore
from reader_agent.upload import deliver_to_directory

TERMINAL = "T00000001"
JST = dt.timezone(dt.timedelta(hours=9))


def _modes(root: Path) -> dict[str, int]:
    """Mode bits of every directory and regular file under root (root included), by relative path."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode):
                found[str(path.relative_to(root))] = stat.S_IMODE(info.st_mode)
    return found


def _expected_private(modes: dict[str, int], root: Path) -> dict[str, int]:
    return {rel: 0o700 if (root / rel).is_dir() else 0o600 for rel in modes}


@pytest.fixture
def umask() -> Iterator[callable]:
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


def _run(state: Path, *argv: str, lang: str = "en") -> tuple[int, str]:
    err = io.StringIO()
    code = main(["--state-dir", str(state), "--lang", lang, *argv], out=io.StringIO(), err=err)
    return code, err.getvalue()


def _init(state: Path) -> None:
    assert _run(state, "init-terminal", "--terminal-id", TERMINAL, "--merchant-id", "M00000001")[0] == 0


def _write_records(state: Path, count: int, leave_pending: bool = False) -> None:
    with TerminalStore.open(state, TERMINAL) as store:
        for n in range(count):
            record = store.next_record({"type": "use", "ts": "2026-11-26T10:00:00+09:00",
                                        "merchant_id": "M00000001", "municipality_code": "131016",
                                        "mykey_id": "MK0000000001", "amount": 10 + n, "auth_id": f"A{n}",
                                        "card_cert_serial": "1", "card_sig": "AA=="})
            store.write_pending(record)
            if not (leave_pending and n == count - 1):
                store.append_pending()


def _seal_and_send(state: Path, inbox: Path) -> None:
    with TerminalStore.open(state, TERMINAL) as store:
        store.seal(ed25519.Ed25519PrivateKey.generate(), dt.datetime(2026, 11, 26, 18, 0, tzinfo=JST))
        for path in store.outbox_files():
            deliver_to_directory(inbox, TERMINAL, path)
            store.mark_sent(path)


@pytest.mark.parametrize("mask", [0o000, 0o002, 0o022, 0o027, 0o077, 0o277])
def test_every_directory_is_0700_and_every_file_0600_whatever_the_umask(tmp_path, umask, mask):
    state = tmp_path / "deep" / "state"      # parents created too
    umask(mask)
    _init(state)
    _write_records(state, 2)
    if mask != 0o277:                         # with 0277 the back office's inbox folders would be read-only
        _seal_and_send(state, tmp_path / "inbox")
    _write_records(state, 2, leave_pending=True)   # current.jsonl, pending.json, outbox/ and sent/ all in use
    umask(0o022)
    modes = _modes(state)
    assert {"terminal_key.pem", "terminal.json", "lock", "log", "log/current.jsonl", "log/pending.json", "outbox",
            "sent"} <= set(modes)
    assert modes == _expected_private(modes, state)
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700   # a parent we created holds it too


def test_a_file_delivered_to_the_inbox_follows_the_inbox_umask(tmp_path, umask):
    state = tmp_path / "state"
    _init(state)
    _write_records(state, 1)
    umask(0o027)
    _seal_and_send(state, tmp_path / "inbox")
    (delivered,) = (tmp_path / "inbox" / "terminal" / TERMINAL).iterdir()
    assert stat.S_IMODE(delivered.stat().st_mode) == 0o640            # 0644 less the umask: the back office's rule
    (sent,) = (state / "sent").iterdir()
    assert stat.S_IMODE(sent.stat().st_mode) == 0o600                  # our copy stays private


def test_loose_modes_of_our_own_are_tightened_on_start(tmp_path):
    real = tmp_path / "real"
    _init(real)
    _write_records(real, 2)
    (real / "extra" / "nested").mkdir(parents=True)
    (real / "extra" / "nested" / "note.txt").write_text("x")
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours to change")
    os.chmod(outside, 0o644)
    (real / "log" / "link").symlink_to(outside)
    for folder, dirs, files in os.walk(real):
        for name in dirs:
            os.chmod(Path(folder, name), 0o777)
        for name in files:
            if name not in ("terminal_key.pem", "link"):   # chmod would follow the link
                os.chmod(Path(folder, name), 0o666)
    os.chmod(real, 0o755)
    state = tmp_path / "state-link"          # the state directory itself may be a link (e.g. to another disk)
    state.symlink_to(real)
    assert _run(state, "recover") == (0, "")
    modes = _modes(real)
    assert "extra/nested/note.txt" in modes and "log/current.jsonl" in modes
    assert modes == _expected_private(modes, real)
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644               # a link inside is never followed


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602, 0o666])
@pytest.mark.parametrize(("lang", "words"), [("en", "can be read by other users"), ("ja", "他のユーザーから読める")])
def test_a_key_open_to_others_is_refused_with_the_command_to_run(tmp_path, mode, lang, words):
    state = tmp_path / "state"
    _init(state)
    key = state / "terminal_key.pem"
    os.chmod(key, mode)
    for command in (["recover"], ["upload", "--to", str(tmp_path / "inbox")]):
        code, err = _run(state, *command, lang=lang)
        assert code == 1 and err.startswith("[key_exposed] ") and words in err
        assert f"`chmod 600 {key}`" in err and f"{mode:04o}" in err
    assert stat.S_IMODE(key.stat().st_mode) == mode                     # refused, not silently fixed
    assert not (state / "log").exists()                                 # nothing else was done
    os.chmod(key, 0o600)                                                # what the message said to run
    assert _run(state, "recover", lang=lang) == (0, "")


def test_a_key_open_only_to_its_owner_is_set_to_0600(tmp_path):
    state = tmp_path / "state"
    _init(state)
    os.chmod(state / "terminal_key.pem", 0o400)
    assert _run(state, "recover") == (0, "")
    assert stat.S_IMODE((state / "terminal_key.pem").stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_an_open_entry_of_another_user_is_refused_not_changed(tmp_path, lang):
    state = tmp_path / "state"
    _init(state)
    _write_records(state, 1)
    current = state / "log" / "current.jsonl"
    os.chown(current, 65534, 65534)
    os.chmod(current, 0o664)
    code, err = _run(state, "recover", lang=lang)
    assert code == 1 and err.startswith("[state_dir_insecure] ") and f"`chmod 600 {current}`" in err
    assert stat.S_IMODE(current.stat().st_mode) == 0o664
    os.chmod(current, 0o600)                                            # private, though not ours: accepted
    assert _run(state, "recover", lang=lang) == (0, "")


_NAMES = st.sampled_from(["a", "b", "x.jsonl", "notes", "場所"])
_OPEN_BITS = st.integers(0, 0o077)   # whatever group and others were given; the owner can always use it


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.lists(st.tuples(st.sampled_from(["", "log", "sent", "outbox"]), st.lists(_NAMES, min_size=1,
                                                                                        max_size=3),
                               st.booleans(), _OPEN_BITS), max_size=8),
       key_mode=st.sampled_from([0o600, 0o400, 0o700, 0o640, 0o604, 0o644, 0o660, 0o666, 0o606]),
       state_open_bits=_OPEN_BITS)
def test_any_tree_of_our_own_ends_private_or_is_refused_untouched(tmp_path_factory, tree, key_mode,
                                                                  state_open_bits):
    """Generated trees of files and folders with any modes we can still use: after a command, every directory
    is 0700 and every file 0600 — unless the key is open to group/others, when the command is refused and
    nothing at all was changed."""
    state = tmp_path_factory.mktemp("generated") / "state"
    _init(state)
    _write_records(state, 1)
    for folder, parts, is_dir, open_bits in tree:
        path = state.joinpath(folder, *parts)
        if path.exists() or any(p.exists() and not p.is_dir() for p in path.parents):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if is_dir else path.write_bytes(b"x")
        os.chmod(path, (0o700 if is_dir else 0o600) | open_bits)
    os.chmod(state / "log" / "current.jsonl", 0o666)
    os.chmod(state / "terminal_key.pem", key_mode)
    os.chmod(state, 0o700 | state_open_bits)
    before = _modes(state)
    code, err = _run(state, "recover")
    if key_mode & 0o077:
        assert code == 1 and err.startswith("[key_exposed] ") and _modes(state) == before
    else:
        assert (code, err) == (0, "")
        modes = _modes(state)
        assert modes == _expected_private(modes, state)
