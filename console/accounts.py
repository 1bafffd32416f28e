"""Console accounts, roles and the console's audit log, in one SQLite file: `<SEISAN_HOME>/console.sqlite3`.

Why SQLite beside the warehouse and not a `console` schema in it: the daily DAG holds the warehouse (and the
home's exclusive lock) for the whole run, and DuckDB allows one writing process per file. A login, a logout or
an audit row must be written while a run is under way, and must never make the run wait; SQLite (WAL, a
busy timeout) lets the console write its own small tables at any time. The warehouse is written only by the
actions that change it (a break's assign/comment/resolve/reopen, then the gate), under the home lock, like the
command line.

Roles:
- `officer`: the municipality codes its office settles, or `*` for all; works breaks, approves payment files;
- `municipality`: exactly one code; reads its own gate, breaks (read-only, IDs masked) and reports;
- `auditor`: reads everything (checks, Data Docs, run log), changes nothing.
Passwords are hashed with argon2id (argon2-cffi's defaults); only the hash is stored. This module never prints.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from contracts.codes import contains_my_number

ROLES = ("officer", "municipality", "auditor")
ALL_MUNICIPALITIES = "*"
USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")  # the officer-id shape of reconciliation.breaks
MUNICIPALITY_CODE_RE = re.compile(r"[0-9]{6}")
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 1024
AUDIT_DETAIL_MAX_CHARS = 2000
DB_FILE_NAME = "console.sqlite3"
_HASHER = PasswordHasher()
# A hash of a random password, verified against when the user does not exist, so an unknown name costs the same
# time as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _HASHER.hash("not a password of anybody: 6f1d1c0e")

_DDL = (
    """CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('officer', 'municipality', 'auditor')),
        municipalities TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        language TEXT NOT NULL DEFAULT 'ja',
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        sessions_after REAL NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        event_id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_utc TEXT NOT NULL,
        username TEXT,
        role TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL,
        detail TEXT,
        client TEXT)""",
)


class AccountError(ValueError):
    """An account operation that cannot be done; the message is one sentence saying why."""


@dataclass(frozen=True, slots=True)
class User:
    """One console account. username: the login name (for an officer, the officer id used in break events and
    on payment files); role: officer | municipality | auditor; municipalities: the codes it may see (empty with
    `all_municipalities` for an officer of every municipality and for an auditor); disabled: may not log in;
    language: 'ja' or 'en'; sessions_after: sessions issued before this time (epoch seconds) are void — logging out,
    disabling, a new role or password ends every session of the account, not only the cookie of one browser."""

    username: str
    role: str
    municipalities: frozenset[str]
    all_municipalities: bool
    disabled: bool
    language: str = "ja"
    sessions_after: float = 0.0

    def sees(self, municipality_code: str | None) -> bool:
        """May this account see data of `municipality_code`? None (a break that names no municipality: nobody
        can tell whose it is) only for accounts that see every municipality."""
        if self.all_municipalities:
            return True
        return municipality_code is not None and municipality_code in self.municipalities

    @property
    def may_act(self) -> bool:
        """Officers change things (breaks, approvals); municipality and auditor accounts only read."""
        return self.role == "officer"

    @property
    def sees_keys(self) -> bool:
        """Break keys and lineage (which may hold a MyKey ID) are for officers and auditors, never a municipality."""
        return self.role != "municipality"


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One row of the console's audit log: who did what to which target, when (UTC), and the outcome."""

    event_id: int
    at_utc: str
    username: str | None
    role: str | None
    action: str
    target: str | None
    outcome: str
    detail: str | None
    client: str | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def connect(path: Path) -> sqlite3.Connection:
    """The accounts file (created, with its tables, on first use; mode 0600: it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    con = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    if fresh:
        path.chmod(0o600)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA busy_timeout=10000")
    for statement in _DDL:
        con.execute(statement)
    return con


def check_username(username: str) -> str:
    if not USERNAME_RE.fullmatch(username or "") or username == "seisan" or contains_my_number(username):
        raise AccountError(f"{username!r} is not a usable user name: 1-64 letters, digits or ._@- (an officer's "
                           "user name is their officer id)")
    return username


def parse_municipalities(role: str, codes: Iterable[str]) -> tuple[frozenset[str], bool]:
    """(codes, all) for a role: officer — codes or '*'; municipality — exactly one code; auditor — none (all)."""
    cleaned = [c.strip() for c in codes if c.strip()]
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role; use one of {', '.join(ROLES)}")
    if role == "auditor":
        if cleaned:
            raise AccountError("an auditor reads every municipality; give no --municipality")
        return frozenset(), True
    if role == "officer" and cleaned == [ALL_MUNICIPALITIES]:
        return frozenset(), True
    bad = [c for c in cleaned if not MUNICIPALITY_CODE_RE.fullmatch(c)]
    if bad or not cleaned:
        raise AccountError(f"give {'exactly one' if role == 'municipality' else 'the'} 6-digit municipality "
                           f"code{'' if role == 'municipality' else 's (or * for all)'}; got {cleaned or 'none'}")
    if role == "municipality" and len(cleaned) != 1:
        raise AccountError(f"a municipality account has exactly one code, got {len(cleaned)}")
    return frozenset(cleaned), False


def _stored_codes(codes: frozenset[str], all_codes: bool) -> str:
    return json.dumps([ALL_MUNICIPALITIES] if all_codes else sorted(codes))


def _check_password(password: str) -> None:
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise AccountError(f"a password has {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters")


def add_user(con: sqlite3.Connection, username: str, role: str, municipalities: Iterable[str],
             password: str) -> User:
    check_username(username)
    codes, all_codes = parse_municipalities(role, municipalities)
    _check_password(password)
    now = _now()
    try:
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?, 0, 'ja', ?, ?, 0)",
                    [username, role, _stored_codes(codes, all_codes), _HASHER.hash(password), now, now])
    except sqlite3.IntegrityError as exc:
        raise AccountError(f"user {username!r} exists already; use `seisan console user role` to change it") from exc
    return get_user(con, username)


def _row_user(row: tuple) -> User:
    username, role, stored, disabled, language, sessions_after = row
    codes = json.loads(stored)
    all_codes = role == "auditor" or codes == [ALL_MUNICIPALITIES]
    return User(username, role, frozenset() if all_codes else frozenset(codes), all_codes, bool(disabled), language,
                float(sessions_after))


_USER_COLUMNS = "username, role, municipalities, disabled, language, sessions_after"


def get_user(con: sqlite3.Connection, username: str) -> User:
    row = con.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", [username]).fetchone()
    if row is None:
        raise AccountError(f"no user {username!r}")
    return _row_user(row)


def list_users(con: sqlite3.Connection) -> list[User]:
    rows = con.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")
    return [_row_user(r) for r in rows.fetchall()]


def set_disabled(con: sqlite3.Connection, username: str, disabled: bool = True) -> User:
    get_user(con, username)
    con.execute("UPDATE users SET disabled = ?, changed_at = ? WHERE username = ?", [int(disabled), _now(), username])
    end_sessions(con, username)
    return get_user(con, username)


def set_role(con: sqlite3.Connection, username: str, role: str, municipalities: Iterable[str]) -> User:
    get_user(con, username)
    codes, all_codes = parse_municipalities(role, municipalities)
    con.execute("UPDATE users SET role = ?, municipalities = ?, changed_at = ? WHERE username = ?",
                [role, _stored_codes(codes, all_codes), _now(), username])
    end_sessions(con, username)
    return get_user(con, username)


def set_password(con: sqlite3.Connection, username: str, password: str) -> None:
    get_user(con, username)
    _check_password(password)
    con.execute("UPDATE users SET password_hash = ?, changed_at = ? WHERE username = ?",
                [_HASHER.hash(password), _now(), username])
    end_sessions(con, username)


def end_sessions(con: sqlite3.Connection, username: str) -> None:
    """Void every session of the account issued until now (logout, disable, role or password change)."""
    con.execute("UPDATE users SET sessions_after = ? WHERE username = ?", [time.time(), username])


def set_language(con: sqlite3.Connection, username: str, language: str) -> None:
    if language not in ("ja", "en"):
        raise AccountError(f"language must be ja or en, got {language!r}")
    con.execute("UPDATE users SET language = ? WHERE username = ?", [language, username])


def authenticate(con: sqlite3.Connection, username: str, password: str) -> User | None:
    """The user when the name and password match an enabled account, else None (same work either way)."""
    row = con.execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchone()
    stored = row[0] if row else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password[:PASSWORD_MAX_CHARS])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    user = get_user(con, username)
    if user.disabled:
        return None
    if _HASHER.check_needs_rehash(stored):
        con.execute("UPDATE users SET password_hash = ? WHERE username = ?", [_HASHER.hash(password), username])
    return user


def audit(con: sqlite3.Connection, username: str | None, role: str | None, action: str, *, target: str | None = None,
          outcome: str = "ok", detail: str | None = None, client: str | None = None) -> None:
    """Append one row to the console's audit log (never updated or deleted by the console)."""
    text = None if detail is None else detail[:AUDIT_DETAIL_MAX_CHARS]
    con.execute("INSERT INTO audit_log (at_utc, username, role, action, target, outcome, detail, client) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [_now(), username, role, action, target, outcome, text, client])


def audit_rows(con: sqlite3.Connection, limit: int = 200, username: str | None = None) -> list[AuditRow]:
    rows = con.execute("SELECT event_id, at_utc, username, role, action, target, outcome, detail, client "
                       "FROM audit_log WHERE (? IS NULL OR username = ?) ORDER BY event_id DESC LIMIT ?",
                       [username, username, limit]).fetchall()
    return [AuditRow(*r) for r in rows]
