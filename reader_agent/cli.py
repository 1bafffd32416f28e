"""`seisan-reader` / `python -m reader_agent`: the shop-terminal command line.

Commands: status, init-terminal, pay --amount N, cancel --auth-id A, recover, upload. Messages go to stdout in
Japanese (default) or English (`--lang en`, before or after the command); an error — an agent error, an
OSError, Ctrl+C or an unexpected exception — prints `[code] sentence-that-says-what-to-do` to stderr and exits
1 (usage errors exit 2, Ctrl+C 130), never with a traceback. The PIN is read from the keyboard without echo
(or one line on a piped stdin, for PIN pads), never from an argument or environment variable.
This is the agent's only place that reads its settings (flags, then terminal.json in the state directory).
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TextIO

from contracts.limits import AMOUNT_MAX_YEN
from reader_agent import messages
from reader_agent.config import TerminalConfig, init_terminal, load_config, load_key
from reader_agent.errors import AgentError, Reason
from reader_agent.flow import (
    TRANSACTION_CAP_S_DEFAULT,
    CardOptions,
    Request,
    card_status,
    run_transaction,
    seal_and_deliver,
    settle_pending,
)
from reader_agent.pin import PinSource, read_pin_from_stdin
from reader_agent.platform_client import Endpoint, PlatformClient
from reader_agent.store import JST, TerminalStore
from reader_agent.upload import deliver_over_https, deliver_to_directory, with_retries

STATE_DIR_DEFAULT = Path.home() / ".seisan-reader"
AMOUNT_MAX = AMOUNT_MAX_YEN  # FORMATS.md: one point transaction is at most 10,000,000


def _amount(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= AMOUNT_MAX:
        raise argparse.ArgumentTypeError(f"an integer number of yen, 1..{AMOUNT_MAX}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seisan-reader", description="My Number Card point terminal")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR_DEFAULT,
                        help="where the terminal key, configuration and log live (default %(default)s)")
    parser.add_argument("--lang", choices=messages.LANGS, default="ja",
                        help="language of messages to staff and residents (default ja)")
    sub = parser.add_subparsers(dest="command", required=True)

    # the same two options after the command too; SUPPRESS keeps the value given before the command
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS,
                        help="as before the command (given here, it wins)")
    common.add_argument("--lang", choices=messages.LANGS, default=argparse.SUPPRESS,
                        help="as before the command (given here, it wins)")
    card = argparse.ArgumentParser(add_help=False)
    card.add_argument("--reader", help="use only readers whose name contains this")
    card.add_argument("--card-wait", type=float, default=30.0, help="seconds to wait for a card")
    card.add_argument("--pin-timeout", type=float, default=30.0, help="seconds to wait for the PIN")
    card.add_argument("--apdu-timeout", type=float, default=5.0, help="seconds to wait for each card command")
    card.add_argument("--trace", action="store_true",
                      help="print APDUs to stderr (PIN masked, certificate by length only)")
    card.add_argument("--transaction-timeout", type=float, default=TRANSACTION_CAP_S_DEFAULT,
                      help="most seconds from connecting to the card to its signature (default %(default)s)")
    net = argparse.ArgumentParser(add_help=False)
    net.add_argument("--platform-url", help="the point platform's https URL (default: from init-terminal)")
    net.add_argument("--platform-ca", help="PEM file of the CA that signed the platform's certificate")

    sub.add_parser("status", parents=[common, card],
                   help="readers, card, JPKI and PIN tries left (never asks the PIN)",
                   description="Show the readers, whether a card is present, whether it is a My Number Card with "
                               "JPKI, and how many auth-PIN tries are left. Never asks for the PIN.")
    init = sub.add_parser("init-terminal", parents=[common, net],
                          help="create the terminal key and print its master line",
                          description="Generate the terminal's Ed25519 key (file mode 0600) and print the line for "
                                      "the terminals master file.")
    init.add_argument("--terminal-id", required=True, help="T followed by 8 digits")
    init.add_argument("--merchant-id", required=True, help="M followed by 8 digits")
    init.add_argument("--municipality-code", help="default municipality for payments (6 digits)")
    init.add_argument("--upload-target", help="inbox directory or https URL")
    init.add_argument("--active-from", type=dt.date.fromisoformat, help="YYYY-MM-DD the key is in force from")
    pay = sub.add_parser("pay", parents=[common, card, net], help="take a payment in points",
                         description="Read the card, get the platform's authorisation, ask the PIN, have the card "
                                     "sign, and write the signed log record.")
    pay.add_argument("--amount", type=_amount, required=True, help="points (= yen) to pay")
    pay.add_argument("--municipality-code", help="whose points to use (default: the platform chooses)")
    cancel = sub.add_parser("cancel", parents=[common, card, net],
                            help="cancel all or part of an earlier payment",
                            description="Cancel a payment by its authorisation id; the resident's card signs.")
    cancel.add_argument("--auth-id", required=True, help="the auth id printed on the payment's receipt")
    cancel.add_argument("--amount", type=_amount, help="partial cancel; default: the whole use")
    sub.add_parser("recover", parents=[common, net],
                   help="settle a transaction interrupted by a crash or network loss",
                   description="Ask the platform how an interrupted transaction ended and write or drop its "
                               "record so the log never skips or repeats a seq.")
    upload = sub.add_parser("upload", parents=[common, net], help="seal the current log file and deliver it",
                            description="Seal the current log file and deliver it to the inbox (a directory or an "
                                        "https URL), retrying; never delivered as two different files.")
    upload.add_argument("--to", dest="upload_target", help="inbox directory or https URL")
    upload.add_argument("--attempts", type=int, default=4, help="delivery attempts (default 4)")
    upload.add_argument("--backoff", type=float, default=0.5, help="seconds before the first retry, doubling")
    return parser


def _platform(args: argparse.Namespace, config: TerminalConfig, state_dir: Path,
              url: str | None = None) -> PlatformClient | None:
    url = url or getattr(args, "platform_url", None) or config.platform_url
    if not url:
        return None
    ca = getattr(args, "platform_ca", None) or config.platform_ca
    return PlatformClient(Endpoint(url, ca), config.terminal_id, load_key(state_dir))


def _card_options(args: argparse.Namespace, err: TextIO) -> CardOptions:
    trace = (lambda line: print(line, file=err)) if args.trace else None
    return CardOptions(args.reader, args.card_wait, args.pin_timeout, args.apdu_timeout, trace,
                       args.transaction_timeout)


def _cmd_status(args: argparse.Namespace, say: Callable[[str], None], t: Callable[..., str]) -> None:
    status = card_status(_card_options(args, sys.stderr))
    say(t("status_readers", readers=", ".join(status.readers) or "-"))
    if not status.readers:
        raise AgentError(Reason.NO_READER)
    present = args.lang == "en" and ("present" if status.card_reader else "none") or (
        "あり" if status.card_reader else "なし")
    say(t("status_card", state=present + (f" ({status.card_reader})" if status.card_reader else "")))
    if status.jpki is not None:
        say(t("status_jpki", state=("yes" if args.lang == "en" else "あり") if status.jpki else
              ("no" if args.lang == "en" else "なし")))
    if status.locked:
        say(t("status_tries", tries="0 (locked)" if args.lang == "en" else "0 (ロック)"))
    elif status.jpki:
        say(t("status_tries", tries=status.tries_left if status.tries_left is not None else "?"))


def _cmd_transaction(args: argparse.Namespace, say: Callable[[str], None], t: Callable[..., str],
                     pin_source: PinSource) -> None:
    config = load_config(args.state_dir)
    platform = _platform(args, config, args.state_dir)
    if platform is None:
        raise AgentError(Reason.USAGE, detail="--platform-url is needed")
    if args.command == "pay":
        request = Request("use", args.amount, municipality_code=args.municipality_code)
    else:
        request = Request("cancel", args.amount, cancel_of=args.auth_id)
    receipt = run_transaction(args.state_dir, config, platform, request, pin_source,
                              _card_options(args, sys.stderr), say, t)
    key = "paid" if receipt.type == "use" else "cancelled"
    say(t(key, auth_id=receipt.auth_id, amount=receipt.amount, balance=receipt.balance))


def _cmd_upload(args: argparse.Namespace, say: Callable[[str], None], t: Callable[..., str]) -> None:
    config = load_config(args.state_dir)
    target = args.upload_target or config.upload_target
    if not target:
        raise AgentError(Reason.USAGE, detail="--to is needed (inbox directory or https URL)")
    if target.startswith(("https://", "http://")):
        client = _platform(args, config, args.state_dir, url=target)
        assert client is not None
        send = partial(deliver_over_https, client, config.terminal_id)
    else:
        send = partial(deliver_to_directory, Path(target), config.terminal_id)
    platform = _platform(args, config, args.state_dir)
    delivered = seal_and_deliver(
        args.state_dir, config, platform,
        lambda path: with_retries(lambda: send(path), args.attempts, args.backoff), say, t)
    if not delivered:
        say(t("nothing_to_upload"))


def _cmd_recover(args: argparse.Namespace, say: Callable[[str], None], t: Callable[..., str]) -> None:
    config = load_config(args.state_dir)
    with TerminalStore.open(args.state_dir, config.terminal_id) as store:
        recovered = settle_pending(store, _platform(args, config, args.state_dir))
    if recovered:
        say(t("recovered", outcome=recovered.outcome, seq=recovered.seq))


def _cmd_init(args: argparse.Namespace, say: Callable[[str], None], t: Callable[..., str]) -> None:
    config = TerminalConfig(args.terminal_id, args.merchant_id, args.platform_url, args.platform_ca,
                            args.upload_target, args.municipality_code)
    line = init_terminal(args.state_dir, config, args.active_from or dt.datetime.now(JST).date())
    say(t("terminal_ready"))
    say(line)


def error_text(error: AgentError, lang: str) -> str:
    params = dict(error.params)
    if error.code == Reason.PLATFORM_DECLINED:
        reason = str(params.pop("reason", ""))
        params["reason_text"] = messages.decline_text(reason, lang, **params)
    return f"[{error.code.value}] {messages.text(error.code.value, lang, **params)}"


def coded(exc: BaseException) -> AgentError:
    """Any exception as a coded error: what main prints instead of a traceback (no message text of the
    exception beyond its errno name or type, so nothing unexpected reaches the screen)."""
    if isinstance(exc, AgentError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return AgentError(Reason.INTERRUPTED)
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        return AgentError(Reason.SYSTEM_ERROR, detail=name)
    return AgentError(Reason.INTERNAL_ERROR, detail=type(exc).__name__)


EXIT_STATUS = {Reason.USAGE: 2, Reason.INTERRUPTED: 130}


def _run(args: argparse.Namespace, say: Callable[[str], None], t: Callable[..., str],
         pin_source: PinSource | None) -> None:
    if args.command == "status":
        _cmd_status(args, say, t)
    elif args.command == "init-terminal":
        _cmd_init(args, say, t)
    elif args.command in ("pay", "cancel"):
        _cmd_transaction(args, say, t, pin_source or read_pin_from_stdin)
    elif args.command == "recover":
        _cmd_recover(args, say, t)
    elif args.command == "upload":
        _cmd_upload(args, say, t)


def main(argv: list[str] | None = None, pin_source: PinSource | None = None,
         out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one command; returns the exit code (0, 1, 2 usage, 130 interrupted). Every failure, including
    OSError, Ctrl+C and unexpected exceptions, prints `[code] what to do` and no traceback."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    t = partial(messages.text, lang=args.lang)

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        _run(args, say, t, pin_source)
    except BaseException as exc:  # noqa: BLE001 - the till shows a code and what to do, never a traceback
        if isinstance(exc, SystemExit | GeneratorExit):
            raise
        error = coded(exc)
        print(error_text(error, args.lang), file=err, flush=True)
        return EXIT_STATUS.get(error.code, 1)
    return 0
