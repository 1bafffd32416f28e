"""The state directory's permissions: the directory and every directory in it 0700, every file in it 0600,
whoever created them and whatever the umask was (docs/reader-agent.md §6).

The state directory holds the terminal's signing key and the log of residents' transactions, so nobody but the
agent's own user may read it. `secure_state_dir` runs at the start of every command that uses the directory:
  - a directory or file of ours with another mode (an old install, a copy, a loose umask) is set right;
  - the terminal key readable or writable by group or others is refused (KEY_EXPOSED), not fixed: it may
    already have been copied, so staff must fix it by hand and tell head office;
  - an entry that is too open and belongs to another user (the agent cannot chmod it) is refused
    (STATE_DIR_INSECURE), naming the path and the command to run.
Symbolic links inside the directory are never followed or changed. New files and directories are created
through `make_dir` / the store's writers, which set the mode explicitly instead of trusting the umask.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from reader_agent.errors import AgentError, Reason

DIR_MODE = 0o700
FILE_MODE = 0o600
KEY_FILE = "terminal_key.pem"
CONFIG_FILE = "terminal.json"
_OPEN_TO_OTHERS = 0o077


def _mode_text(mode: int) -> str:
    return format(stat.S_IMODE(mode), "04o")


def _command(path: Path, wanted: int) -> str:
    return f"chmod {wanted:o} {shlex.quote(str(path))}"


def check_key_file(path: Path) -> None:
    """Refuse the key when group or others may read or write it (KEY_EXPOSED, with the chmod to run); a key
    only the owner may use but with another owner mode (e.g. 0400) is set to 0600."""
    try:
        info = path.stat()  # the file the agent would read, a link's target included
    except FileNotFoundError:
        return
    if info.st_mode & _OPEN_TO_OTHERS:
        raise AgentError(Reason.KEY_EXPOSED, path=str(path), mode=_mode_text(info.st_mode),
                         command=_command(path, FILE_MODE))
    if stat.S_IMODE(info.st_mode) != FILE_MODE and info.st_uid == os.geteuid():
        os.chmod(path, FILE_MODE)


def _set_mode(path: Path, info: os.stat_result, wanted: int) -> None:
    if stat.S_IMODE(info.st_mode) == wanted:
        return
    if info.st_uid == os.geteuid():
        # `path` is no link (lstat said so) and its parent was made private first, so nobody else can swap
        # it for one in between (Linux has no lchmod)
        os.chmod(path, wanted)
    elif info.st_mode & _OPEN_TO_OTHERS:
        raise AgentError(Reason.STATE_DIR_INSECURE, path=str(path), mode=_mode_text(info.st_mode),
                         command=_command(path, wanted))


def make_dir(path: Path) -> None:
    """Create `path` (and missing parents) as 0700, whatever the umask; an existing one is left to
    `secure_state_dir`."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for created in missing:
        if created.is_dir() and not created.is_symlink():
            os.chmod(created, DIR_MODE)


def secure_state_dir(state_dir: Path) -> None:
    """Check the key, then bring the directory tree to 0700 / 0600 (see the module text). Does nothing when
    the directory does not exist yet."""
    check_key_file(state_dir / KEY_FILE)
    try:
        info = state_dir.stat()  # the state directory itself may be a link (e.g. to another disk)
    except FileNotFoundError:
        return
    _set_mode(state_dir, info, DIR_MODE)
    pending = [state_dir]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                path = Path(entry.path)
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    _set_mode(path, info, DIR_MODE)
                    pending.append(path)
                elif stat.S_ISREG(info.st_mode):
                    _set_mode(path, info, FILE_MODE)
