"""How the console opens the warehouse: briefly, and never against a run.

A page opens the DuckDB file read-only under the home's shared lock (seisan.home_lock), reads, and closes it; an
action (a break's assign/comment/resolve/reopen, the gate decided again) opens it for writing under the exclusive
lock, like the command line. The console never keeps the file open between requests, so a DAG run can take it;
while a run holds it, a page waits `lock_wait_seconds` at most and then says the warehouse is busy (503), instead
of hanging. One process-wide lock serialises the console's own opens: DuckDB refuses two connections of one
process with different settings (read-only and read-write), and the home lock is re-entrant per process, not per
thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from seisan.home_lock import HomeBusy, hold_home

_process_lock = threading.RLock()


class WarehouseBusy(RuntimeError):
    """A run holds the warehouse; the message names it."""


class NoWarehouse(RuntimeError):
    """No warehouse yet (nothing has run on this home)."""


@contextmanager
def opened(home: Path, warehouse: Path, *, write: bool, wait_seconds: float, command: str) -> Iterator[object]:
    """A connection to the warehouse for one request (read-only unless `write`)."""
    if not warehouse.is_file():
        raise NoWarehouse(f"no warehouse at {warehouse} yet: run `seisan run --date D` or `seisan demo` first")
    with _process_lock:
        try:
            with hold_home(home, command, shared=not write, wait_seconds=wait_seconds):
                with duckdb.connect(str(warehouse), read_only=not write) as con:
                    yield con
        except HomeBusy as exc:
            raise WarehouseBusy(str(exc)) from exc


@contextmanager
def holding_home(home: Path, *, wait_seconds: float, command: str) -> Iterator[None]:
    """The home's exclusive lock (and the console's own) around a step function that opens the warehouse itself."""
    with _process_lock:
        try:
            with hold_home(home, command, wait_seconds=wait_seconds):
                yield
        except HomeBusy as exc:
            raise WarehouseBusy(str(exc)) from exc


def table_exists(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and "
                            "table_name = ?", [schema, table]).fetchone()[0])
