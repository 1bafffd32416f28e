"""One seisan command at a time on one SEISAN_HOME.

DuckDB allows one writing process per file and Airflow's embedded SQLite metadata is not meant for two
in-process runners, so two `seisan run` / `ingest` / `marts` / `demo` on the same home must not overlap. Each
takes an exclusive OS file lock (`fcntl.flock`) on `$SEISAN_HOME/.seisan.lock` before it touches anything;
`seisan sql` takes it shared (any number of readers, no writer). A second command waits for the first, saying
so once, for a bounded time, then gives up with one sentence. The kernel releases the lock when its process
ends, however it ends (kill -9 included), so a crashed run never leaves the home locked.

The lock is re-entrant within a process: the DAG's steps take it too (for a DAG run under a real scheduler),
and inside `seisan run` they find their own process already holds it. The lock file records who holds it (pid,
command, since when) so the waiting command can say whom it waits for; it holds nothing else and is never
removed (removing a lock file while another process waits on it would let two holders in).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE_NAME = ".seisan.lock"
DEFAULT_WAIT_SECONDS = 600.0
_POLL_SECONDS = 0.2

_held_lock = threading.Lock()
_held: dict[Path, int] = {}  # lock file → how many holders in this process (re-entrance)


class HomeBusy(RuntimeError):
    """Another seisan command kept the home for longer than this one would wait; the message says who."""


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another seisan command"


def _try_lock(fd: int, shared: bool) -> bool:
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_for_lock(fd: int, home: Path, shared: bool, wait_seconds: float,
                   say: Callable[[str], None] | None) -> None:
    deadline = time.monotonic() + wait_seconds
    told = False
    while not _try_lock(fd, shared):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HomeBusy(f"{_holder(fd)} is still using SEISAN_HOME={home} after {wait_seconds:.0f} s of waiting; "
                           "run this command again when it has finished")
        if not told and say is not None:
            say(f"waiting for {_holder(fd)} to finish with SEISAN_HOME={home} (at most {wait_seconds:.0f} s)")
            told = True
        time.sleep(min(_POLL_SECONDS, remaining))


@contextmanager
def hold_home(home: Path, command: str, *, shared: bool = False, wait_seconds: float = DEFAULT_WAIT_SECONDS,
              say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the home's lock (exclusive, or `shared` for readers) for the `with` block; wait at most
    `wait_seconds` for another command to release it, then raise HomeBusy. `command` names this holder."""
    home.mkdir(parents=True, exist_ok=True)
    path = (home / LOCK_FILE_NAME).resolve()
    with _held_lock:
        if path in _held:
            _held[path] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_lock:
                _held[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        _wait_for_lock(fd, home, shared, wait_seconds, say)
        if not shared:  # readers share the lock: the writer's name stays for whoever waits on them
            since = dt.datetime.now(dt.UTC).strftime("%H:%M:%S UTC")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"`{command}` (pid {os.getpid()}, since {since})".encode(), 0)
        with _held_lock:
            _held[path] = 1
        try:
            yield
        finally:
            with _held_lock:
                del _held[path]
            if not shared:
                os.ftruncate(fd, 0)  # the name is of the current holder only
    finally:
        os.close(fd)  # closing the descriptor releases the lock
