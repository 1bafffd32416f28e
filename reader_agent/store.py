"""The terminal's crash-safe, hash-chained log on disk (FORMATS.md terminal/; contracts.terminal_log).

Layout under the state directory:
  log/current.jsonl   records written since the last seal (one canonical JSON line each, fsynced)
  log/pending.json    write-ahead entry: the signed record of a transaction whose platform commit is not yet
                      settled (at most one; while it exists no other record may be written)
  outbox/<T>_<D>_<nnnn>.jsonl   sealed files waiting for delivery      sent/  delivered files
  lock                an exclusive flock held by the one agent process using this directory
Every directory is 0700 and every file 0600, whatever the umask (state_dir.py checks and sets them on open).

Guarantees: `seq` never repeats or skips. A record's seq is fixed when its pending entry is written and is
appended only once, after the platform commit; a power cut leaves either no pending entry (nothing happened),
a pending entry (recovery asks the platform), a torn last line (cut back to the last LF on open, then the
pending entry is appended again) or a finished line plus a stale pending entry (dropped). A sealed file is
written to the outbox (fsync + rename) before current.jsonl is emptied; on open, records already covered by
the newest seal are dropped. Sealed files are never re-sealed, so a re-delivery is always byte-identical.

It never stores a PIN (none reaches it); records carry only FORMATS.md fields.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from contracts import terminal_log
from contracts.inbox_names import DATE_STAMP, TERMINAL_NAME
from contracts.jst import JST
from reader_agent.errors import AgentError, Reason
from reader_agent.state_dir import FILE_MODE, make_dir, secure_state_dir

FILE_NAME = TERMINAL_NAME.pattern  # groups: terminal, date, upload
RECORDS_PER_FILE_MAX = 100_000


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written: a write may legally write fewer bytes than asked (a signal, a
    nearly full disk). A write of 0 bytes is treated as a full disk (OSError ENOSPC)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def write_synced(path: Path, data: bytes, mode: int = FILE_MODE, exclusive: bool = False,
                 exact_mode: bool = True) -> None:
    """Write all of `data` to `path` (created with `mode`; with `exclusive`, failing if it exists) and fsync
    it. With `exact_mode` the file gets exactly `mode` whatever the umask (state-directory files); without,
    the umask applies (files delivered to someone else's inbox). Raises OSError (never returns after a
    partial write)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    try:
        if exact_mode:
            os.fchmod(fd, mode)
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write `data` to `path` so that after a crash it is either the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    write_synced(tmp, data, mode)
    os.replace(tmp, path)
    fsync_dir(path.parent)


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last record written on this terminal: its seq (0 before the first) and hash."""

    seq: int
    hash: str


def _parse_lines(data: bytes, where: str) -> list[dict[str, Any]]:
    records = []
    for number, text in terminal_log.iter_json_lines(data):
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise AgentError(Reason.LOG_CORRUPT, detail=f"{where}:{number}") from exc
        if not isinstance(record, dict) or record.get("hash") != terminal_log.record_hash(record):
            raise AgentError(Reason.LOG_CORRUPT, detail=f"{where}:{number}")
        records.append(record)
    return records


def _cut_back(fd: int, size: int) -> None:
    """Best effort after a failed append: drop the partial line (on open, a torn line is cut anyway)."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass


class TerminalStore:
    """The log of one terminal. Open it with `TerminalStore.open(state_dir, terminal_id)`; close when done."""

    def __init__(self, state_dir: Path, terminal_id: str, lock_fd: int) -> None:
        self.state_dir = state_dir
        self.terminal_id = terminal_id
        self._lock_fd = lock_fd
        self.log_dir, self.outbox, self.sent = state_dir / "log", state_dir / "outbox", state_dir / "sent"
        self.current_path = self.log_dir / "current.jsonl"
        self.pending_path = self.log_dir / "pending.json"
        self._current: list[dict[str, Any]] = []
        self._head = ChainHead(0, terminal_log.GENESIS_HASH)

    @classmethod
    def open(cls, state_dir: Path, terminal_id: str) -> TerminalStore:
        for sub in ("log", "outbox", "sent"):
            make_dir(state_dir / sub)
        secure_state_dir(state_dir)   # 0700 / 0600 whoever created what is there (state_dir.py)
        lock_fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(lock_fd, FILE_MODE)
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(lock_fd)
            raise AgentError(Reason.AGENT_RUNNING) from exc
        except BaseException:
            os.close(lock_fd)
            raise
        store = cls(state_dir, terminal_id, lock_fd)
        store._recover()
        return store

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> TerminalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- recovery ----------------------------------------------------------------------------------------
    def _recover(self) -> None:
        sealed_head = self._newest_seal_head()
        data = self.current_path.read_bytes() if self.current_path.exists() else b""
        if data and not data.endswith(b"\n"):  # torn last line: the write never finished
            data = data[:data.rfind(b"\n") + 1]
            write_atomic(self.current_path, data)
        records = _parse_lines(data, "current.jsonl")
        if records and records[-1]["seq"] <= sealed_head.seq:  # sealed, but the crash came before emptying
            write_atomic(self.current_path, b"")
            records = []
        expected = sealed_head
        for record in records:
            if record["seq"] != expected.seq + 1 or record["prev_hash"] != expected.hash:
                raise AgentError(Reason.LOG_CORRUPT, detail=f"current.jsonl seq {record['seq']}")
            expected = ChainHead(record["seq"], record["hash"])
        self._current, self._head = records, expected
        pending = self.pending()
        if pending is not None and pending["seq"] <= self._head.seq:
            if pending["seq"] != self._head.seq or pending["hash"] != self._head.hash:
                raise AgentError(Reason.LOG_CORRUPT, detail=f"pending seq {pending['seq']}")
            self._drop_pending()  # the line was written; only the cleanup was lost

    def _sealed_files(self) -> list[Path]:
        files = [p for d in (self.outbox, self.sent) for p in d.iterdir() if FILE_NAME.fullmatch(p.name)]
        return sorted(files, key=lambda p: p.name)

    def _newest_seal_head(self) -> ChainHead:
        files = self._sealed_files()
        if not files:
            return ChainHead(0, terminal_log.GENESIS_HASH)
        records = _parse_lines(files[-1].read_bytes(), files[-1].name)
        if not records or records[-1].get("type") != "seal":
            raise AgentError(Reason.LOG_CORRUPT, detail=files[-1].name)
        return ChainHead(records[-1]["seq"], records[-1]["hash"])

    # --- chain -------------------------------------------------------------------------------------------
    @property
    def head(self) -> ChainHead:
        return self._head

    @property
    def records_unsealed(self) -> int:
        return len(self._current)

    def pending(self) -> dict[str, Any] | None:
        if not self.pending_path.exists():
            return None
        try:
            entry = json.loads(self.pending_path.read_text("utf-8"))
        except ValueError:  # pending.json is written atomically; unreadable = damaged disk
            raise AgentError(Reason.LOG_CORRUPT, detail="pending.json") from None
        return entry

    def check_room(self) -> None:
        """LOG_FULL when current.jsonl holds as many records as one upload file may: staff must run upload."""
        if len(self._current) >= RECORDS_PER_FILE_MAX:
            raise AgentError(Reason.LOG_FULL, records=len(self._current))

    def next_record(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A complete use/cancel record after the head: v, seq and prev_hash set, hash computed."""
        if self.pending() is not None:
            raise AgentError(Reason.PENDING_UNRESOLVED)
        self.check_room()
        record = {"v": terminal_log.FORMAT_VERSION, **fields, "terminal_id": self.terminal_id,
                  "seq": self._head.seq + 1, "prev_hash": self._head.hash}
        return record

    def write_pending(self, record: dict[str, Any]) -> None:
        """Write-ahead: the signed record, durable before the platform is asked to commit it."""
        if record["seq"] != self._head.seq + 1 or record["prev_hash"] != self._head.hash:
            raise AgentError(Reason.LOG_CORRUPT, detail="pending record does not follow the head")
        terminal_log.finish_record(record)
        write_atomic(self.pending_path, terminal_log.canonical_bytes(record))

    def append_pending(self) -> dict[str, Any]:
        """The platform committed: append the pending record to current.jsonl (fsync), then drop the entry.

        If the line cannot be written whole and fsynced, current.jsonl is cut back to where it was and
        LOG_CORRUPT is raised with the pending entry kept (the next run settles it with the platform again)."""
        record = self.pending()
        if record is None:
            raise AgentError(Reason.LOG_CORRUPT, detail="no pending record")
        fd = os.open(self.current_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            size = os.fstat(fd).st_size
            try:
                write_all(fd, terminal_log.dump_line(record))
                os.fsync(fd)
            except OSError as exc:
                _cut_back(fd, size)
                name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
                raise AgentError(Reason.LOG_CORRUPT,
                                 detail=f"current.jsonl write failed ({name}); seq {record['seq']} kept "
                                        "in pending.json") from exc
        finally:
            os.close(fd)
        self._current.append(record)
        self._head = ChainHead(record["seq"], record["hash"])
        self._drop_pending()
        return record

    def discard_pending(self) -> None:
        """The platform did not commit (voided, declined, expired): the seq stays free."""
        self._drop_pending()

    def _drop_pending(self) -> None:
        if self.pending_path.exists():
            self.pending_path.unlink()
            fsync_dir(self.log_dir)

    # --- sealing -----------------------------------------------------------------------------------------
    def seal(self, key: ed25519.Ed25519PrivateKey, now: dt.datetime) -> Path | None:
        """Seal current.jsonl into the outbox as the next upload file; None when there is nothing to seal."""
        if self.pending() is not None:
            raise AgentError(Reason.PENDING_UNRESOLVED)
        if not self._current:
            return None
        date = now.astimezone(JST).strftime(DATE_STAMP)
        date = max([date] + [FILE_NAME.fullmatch(p.name)["date"] for p in self._sealed_files()])
        numbers = [int(FILE_NAME.fullmatch(p.name)["upload"]) for p in self._sealed_files()
                   if FILE_NAME.fullmatch(p.name)["date"] == date]
        day = dt.datetime.strptime(date, DATE_STAMP).date()
        name = TERMINAL_NAME.file_name(day, terminal=self.terminal_id, upload=max(numbers, default=0) + 1)
        seal = terminal_log.make_seal(self.terminal_id, self._head.seq + 1, now.isoformat(timespec="seconds"),
                                      len(self._current), self._head.hash, key)
        body = b"".join(terminal_log.dump_line(r) for r in [*self._current, seal])
        write_atomic(self.outbox / name, body)
        write_atomic(self.current_path, b"")
        self._current, self._head = [], ChainHead(seal["seq"], seal["hash"])
        return self.outbox / name

    def outbox_files(self) -> list[Path]:
        return sorted((p for p in self.outbox.iterdir() if FILE_NAME.fullmatch(p.name)), key=lambda p: p.name)

    def mark_sent(self, path: Path) -> None:
        os.replace(path, self.sent / path.name)
        fsync_dir(self.sent)
        fsync_dir(self.outbox)
