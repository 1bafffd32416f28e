"""`seisan console`: the officers' console in a browser (console/, docs/console.md), and its accounts.

    seisan console [--host 127.0.0.1] [--port 8710] [--insecure-cookies]
    seisan console user add NAME --role officer|municipality|auditor [--municipality CODE ...] [--password-stdin]
    seisan console user disable NAME | enable NAME
    seisan console user role NAME --role ROLE [--municipality CODE ...]
    seisan console user list

Accounts live in <SEISAN_HOME>/console.sqlite3 (console.accounts says why not in the warehouse). The session
secret is SEISAN_CONSOLE_SECRET, else <SEISAN_HOME>/console-secret (made on first run, mode 0600): never the
repository. Cookies are Secure unless the console serves plain http on a loopback address or
--insecure-cookies is given (local http only); put a TLS proxy in front of any other address.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys

from seisan.cli_common import say as _say
from seisan.config import ConfigError, Settings, load_settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8710
SECRET_FILE_NAME = "console-secret"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def console_secret(settings: Settings, env=None) -> str:
    """SEISAN_CONSOLE_SECRET, else the home's secret file, created 0600 with 48 random bytes on first use."""
    env = os.environ if env is None else env
    if env.get("SEISAN_CONSOLE_SECRET"):
        secret = env["SEISAN_CONSOLE_SECRET"]
        if len(secret) < 32:
            raise ConfigError("SEISAN_CONSOLE_SECRET must have at least 32 characters")
        return secret
    path = settings.home / SECRET_FILE_NAME
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"{path} is readable by others; chmod 600 it (it signs console sessions)") from None
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text(encoding="ascii").strip()


def make_app(settings: Settings, *, cookie_secure: bool = True):
    from console.app import create_app
    from console.security import ConsoleConfig

    return create_app(settings, ConsoleConfig(secret=console_secret(settings), cookie_secure=cookie_secure))


def cmd_console(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()
    secure = not (args.insecure_cookies or args.host in LOOPBACK_HOSTS)
    app = make_app(settings, cookie_secure=secure)
    _say(f"seisan console on http://{args.host}:{args.port}/ (SEISAN_HOME={settings.home}); Ctrl-C stops it")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False)
    return 0


def _accounts(settings: Settings):
    from console import accounts

    return accounts.connect(settings.home / accounts.DB_FILE_NAME)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"password for {args.name}: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def _shown(user) -> str:
    codes = "all municipalities" if user.all_municipalities else ", ".join(sorted(user.municipalities))
    return f"{user.username}: {user.role} ({codes}){' DISABLED' if user.disabled else ''}"


def cmd_user(args: argparse.Namespace) -> int:
    from console import accounts

    settings = load_settings()
    con = _accounts(settings)
    try:
        if args.user_action == "add":
            user = accounts.add_user(con, args.name, args.role, args.municipality or [], _password(args))
        elif args.user_action in ("disable", "enable"):
            user = accounts.set_disabled(con, args.name, args.user_action == "disable")
        elif args.user_action == "role":
            user = accounts.set_role(con, args.name, args.role, args.municipality or [])
        elif args.user_action == "password":
            accounts.get_user(con, args.name)
            accounts.set_password(con, args.name, _password(args))
            user = accounts.get_user(con, args.name)
        else:
            for user in accounts.list_users(con):
                _say(_shown(user))
            return 0
        accounts.audit(con, getpass.getuser(), "command line", f"user {args.user_action}", target=args.name,
                       detail=_shown(user))
    except accounts.AccountError as exc:
        print(f"seisan: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    _say(_shown(user))
    return 0


def add_console_commands(commands) -> None:
    """`seisan console` and `seisan console user …`."""
    from console.accounts import ROLES

    console = commands.add_parser("console", help="serve the officers' console (web pages) on this home",
                                  description="Serve the console: the morning's gate, breaks, payment approvals, "
                                              "reports and audit pages, each account seeing only its own "
                                              "municipalities. See docs/console.md.")
    console.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    console.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    console.add_argument("--insecure-cookies", action="store_true",
                         help="send the session cookie over plain http on a non-loopback address (tests only)")
    console.set_defaults(handler=cmd_console)
    sub = console.add_subparsers(dest="console_command", metavar="COMMAND")
    user = sub.add_parser("user", help="manage console accounts",
                          description="Console accounts in <SEISAN_HOME>/console.sqlite3: officer (codes its "
                                      "office settles, or *), municipality (exactly one code), auditor (reads all).")
    actions = user.add_subparsers(dest="user_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an account (asks for the password)")
    role = actions.add_parser("role", help="change an account's role and municipalities")
    for parser in (add, role):
        parser.add_argument("name", help="user name (an officer's is their officer id)")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--municipality", action="append", metavar="CODE",
                            help="a 6-digit municipality code (repeat for several; * = all, officers only)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    password = actions.add_parser("password", help="set an account's password")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name in ("disable", "enable"):
        parser = actions.add_parser(name, help=f"{name} an account")
        parser.add_argument("name")
    actions.add_parser("list", help="list the accounts")
    user.set_defaults(handler=cmd_user)


DEMO_APPROVER = "OFF-DEMO-KATO"  # seisan.demo_payments.APPROVER: the demo officer who works breaks and approves


def demo_accounts(settings: Settings, municipality_code: str) -> list[tuple[str, str, str]]:
    """Three console accounts on a demo home — the demo approver (officer of every municipality), the
    municipality `municipality_code`, an auditor — each with a fresh random password (an account left by an
    earlier demo gets a new one); (name, role, password) of each, for the demo to print. Demo homes only."""
    from console import accounts

    wanted = ((DEMO_APPROVER, "officer", ["*"]), (f"muni-{municipality_code}", "municipality", [municipality_code]),
              ("auditor", "auditor", []))
    con = _accounts(settings)
    made = []
    try:
        for name, role, codes in wanted:
            password = secrets.token_urlsafe(12)
            try:
                accounts.add_user(con, name, role, codes, password)
            except accounts.AccountError:
                accounts.set_role(con, name, role, codes)
                accounts.set_password(con, name, password)
                accounts.set_disabled(con, name, False)
            accounts.audit(con, "seisan demo", "command line", "user add", target=name, detail=f"demo {role}")
            made.append((name, role, password))
    finally:
        con.close()
    return made


def console_command_line(settings: Settings) -> str:
    """The command that opens the console on this home (the demo's officer registry included)."""
    registry = settings.home / "demo-officers.toml"
    extra = f" SEISAN_PAYMENTS_OFFICERS_FILE={registry}" if registry.is_file() else ""
    return f"SEISAN_HOME={settings.home}{extra} uv run seisan console   # then open http://127.0.0.1:{DEFAULT_PORT}/"
