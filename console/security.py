"""Sessions and CSRF for the console: one signed cookie, one token per session.

- The session is a cookie signed with itsdangerous (HMAC-SHA1 key derivation over the secret, timestamped): it
  holds the user name, the session's CSRF token and the language, nothing secret. HttpOnly, SameSite=Strict,
  Secure unless the console serves plain http on a loopback address (ConsoleConfig.cookie_secure), and refused
  once older than `session_max_age_seconds`. Every request reloads the account, so a disabled account is
  logged out at its next click.
- Every form carries `csrf_token`; a POST whose token is missing or differs from the session's is refused (403)
  before anything is done. The login form gets a token in an anonymous session; logging in issues a new one.
- The secret comes from the caller (seisan/cli_console.py: SEISAN_CONSOLE_SECRET, else a 0600 file under
  SEISAN_HOME created on first run), never from the repository.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "seisan_console"
CSRF_FIELD = "csrf_token"
SECRET_MIN_CHARS = 32


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """How the console runs. home: SEISAN_HOME (the accounts file lives there); secret: the session signing
    key; cookie_secure: send the session cookie only over https; session_max_age_seconds: a session's life;
    lock_wait_seconds: how long a page waits for a run holding the warehouse before it says so."""

    secret: str
    cookie_secure: bool = True
    session_max_age_seconds: int = 12 * 3600
    lock_wait_seconds: float = 3.0

    def __post_init__(self) -> None:
        if len(self.secret) < SECRET_MIN_CHARS:
            raise ValueError(f"the console's session secret must have at least {SECRET_MIN_CHARS} characters")


class Sessions:
    """Signs and reads the session cookie."""

    def __init__(self, config: ConsoleConfig) -> None:
        self._serializer = URLSafeTimedSerializer(config.secret, salt="seisan-console-session")
        self._max_age = config.session_max_age_seconds
        self.secure = config.cookie_secure

    def load(self, cookie: str | None) -> dict[str, Any]:
        if not cookie:
            return {}
        try:
            data = self._serializer.loads(cookie, max_age=self._max_age)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def dump(self, data: dict[str, Any]) -> str:
        return self._serializer.dumps(data)

    def set_cookie(self, response, data: dict[str, Any]) -> None:
        response.set_cookie(SESSION_COOKIE, self.dump(data), max_age=self._max_age, httponly=True,
                            secure=self.secure, samesite="strict", path="/")

    def clear_cookie(self, response) -> None:
        response.delete_cookie(SESSION_COOKIE, httponly=True, secure=self.secure, samesite="strict", path="/")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(session: dict[str, Any], submitted: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected) and bool(submitted) and hmac.compare_digest(str(expected), str(submitted))
