"""`seisan breaks`: how an officer works the breaks reconciliation raised (docs/reconciliation.md, "Working a break").

    seisan breaks list [--status open|pending|resolved|all] [--municipality C] [--code X] [--date D]
    seisan breaks show BREAK_ID
    seisan breaks assign BREAK_ID --to OFFICER [--note TEXT]
    seisan breaks comment BREAK_ID --note TEXT
    seisan breaks resolve BREAK_ID --reason CODE --note TEXT
    seisan breaks reopen BREAK_ID --note TEXT

The rules live in reconciliation.breaks; this is wiring and display only. list/show read the warehouse read-only
under the home's shared lock; the actions hold the home like every other writer. The acting officer is --officer,
else `[officer] id` (SEISAN_OFFICER_ID). Every value shown has its control characters made visible and any My
Number masked: break keys are auth ids and MyKey ids, but a delivered value may hold anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from contracts.codes import mask_my_numbers
from contracts.reasons import BreakResolution
from seisan.cli_common import date_arg as _date
from seisan.cli_common import say as _say
from seisan.config import ConfigError, Settings, load_settings
from seisan.home_lock import hold_home

STATUS_CHOICES = ("open", "pending", "resolved", "all")
LIST_COLUMNS = ("break_id", "status", "break_code", "municipality", "business_date", "first_seen", "aging_days",
                "amount_at_risk_yen", "left", "right", "expected", "actual", "assignee")
EVENT_COLUMNS = ("event_id", "at_utc", "run_date", "event", "actor", "reason_code", "note", "detail")


def _shown(value: object) -> object:
    """A value as a table may show it: text with any My Number masked (format_table then shows controls)."""
    return mask_my_numbers(value) if isinstance(value, str) else value


@contextmanager
def _reading(settings: Settings, command: str) -> Iterator[object]:
    import duckdb

    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan run --date D` first")
    with hold_home(settings.home, command, shared=True, wait_seconds=settings.lock_wait_seconds, say=_say), \
            duckdb.connect(str(settings.warehouse), read_only=True) as con:
        yield con


@contextmanager
def _writing(settings: Settings, command: str) -> Iterator[object]:
    import duckdb

    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan run --date D` first")
    with hold_home(settings.home, command, wait_seconds=settings.lock_wait_seconds, say=_say), \
            duckdb.connect(str(settings.warehouse)) as con:
        yield con


def _officer(args: argparse.Namespace, settings: Settings) -> str:
    officer = (args.officer or settings.officer_id).strip()
    if not officer:
        raise ConfigError("no officer id: pass --officer ID or set [officer] id in seisan.toml (or SEISAN_OFFICER_ID)")
    return officer


def _side(source: str | None, key: str | None) -> str:
    return f"{source or '-'}:{key}" if key is not None else f"{source or '-'}: (none)"


def cmd_list(args: argparse.Namespace) -> int:
    from reconciliation.breaks import list_breaks
    from seisan.cli import format_table

    settings = load_settings()
    with _reading(settings, "seisan breaks list") as con:
        found = list_breaks(con, status=args.status, municipality_code=args.municipality, break_code=args.code,
                            as_of=args.date)
    rows = [tuple(_shown(v) for v in (
        b.break_id, b.status, b.break_code, b.municipality_code, b.business_date, b.first_seen_date, b.aging_days,
        b.amount_at_risk_yen, _side(b.left_source, b.left_key), _side(b.right_source, b.right_key), b.expected,
        b.actual, b.assignee))
        for b in found]
    _say(format_table(LIST_COLUMNS, rows))
    total_yen = sum(b.amount_at_risk_yen for b in found)
    oldest = max((b.aging_days for b in found), default=0)
    which = "" if args.status == "all" else f"{args.status} "
    _say(f"total: {len(found)} {which}break{'s' if len(found) != 1 else ''}, {total_yen:,} yen at risk, "
         f"oldest {oldest} day{'s' if oldest != 1 else ''}")
    return 0


def _inbox_paths(con, sha256s: Sequence[str], inbox: Path, archive: Path | None = None) -> dict[str, str]:
    """file_sha256 → where the file is: its manifest path (its latest row) in the inbox, or in the archive once an
    ingest archived it (ingestion.archive.located)."""
    from ingestion.archive import located

    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
                         "AND table_name = 'file_manifest'").fetchone()[0]
    if not exists or not sha256s:
        return {}
    rows = con.execute("SELECT file_sha256, arg_max(path, ingested_at) FROM raw.file_manifest "
                       "WHERE list_contains(?, file_sha256) GROUP BY file_sha256", [list(sha256s)]).fetchall()
    return {sha: str(located(inbox, archive, path, sha)) for sha, path in rows}


def _lineage(text: str | None) -> list[tuple[str, object]]:
    """(file_sha256, line_number) pairs of a lineage column; a value not in the engine's JSON shape is shown as is."""
    try:
        entries = json.loads(text or "[]")
        return [(str(e["file_sha256"]), e["line_number"]) for e in entries]
    except (ValueError, TypeError, KeyError):
        return [(str(text), "?")]


def _lineage_lines(label: str, source: str | None, text: str | None, paths: dict[str, str]) -> list[str]:
    entries = _lineage(text)
    if not entries:
        return [f"  {label} ({source or '-'}): no delivered row"]
    return [f"  {label} ({source or '-'}): {paths.get(sha, '(file not in raw.file_manifest)')} line {line} "
            f"(sha256 {sha})" for sha, line in entries]


def cmd_show(args: argparse.Namespace) -> int:
    from reconciliation.breaks import BREAK_COLUMNS, break_history, get_break
    from reports.officer_csv import show_controls
    from seisan.cli import format_table

    settings = load_settings()
    with _reading(settings, "seisan breaks show") as con:
        found = get_break(con, args.break_id)
        history = break_history(con, args.break_id)
        shas = [sha for text in (found.left_lineage, found.right_lineage) for sha, _ in _lineage(text)]
        paths = _inbox_paths(con, shas, settings.inbox, settings.archive_dir)
    for column in (*BREAK_COLUMNS[:-2], "aging_days"):
        value = getattr(found, column)
        _say(f"{column}: {'' if value is None else show_controls(str(_shown(value)))}")
    _say("lineage:")
    for line in (_lineage_lines("left", found.left_source, found.left_lineage, paths)
                 + _lineage_lines("right", found.right_source, found.right_lineage, paths)):
        _say(show_controls(line))
    _say("history:")
    _say(format_table(EVENT_COLUMNS, [tuple(_shown(v) for v in (
        e.event_id, e.at.isoformat(sep=" ", timespec="seconds"), e.run_date, e.event_type, e.actor, e.reason_code,
        e.note, e.detail_json)) for e in history]))
    return 0


def _acted(event) -> int:
    from reports.officer_csv import show_controls

    reason = f" ({event.reason_code})" if event.reason_code else ""
    _say(show_controls(f"{event.break_id}: {event.event_type}{reason} by {event.actor} at "
                       f"{event.at.isoformat(sep=' ', timespec='seconds')} UTC (event {event.event_id})"))
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    from reconciliation.breaks import assign

    settings = load_settings()
    officer = _officer(args, settings)
    with _writing(settings, f"seisan breaks assign {args.break_id}") as con:
        event = assign(con, args.break_id, officer, args.to, dt.datetime.now(dt.UTC), note=args.note)
    return _acted(event)


def cmd_comment(args: argparse.Namespace) -> int:
    from reconciliation.breaks import comment

    settings = load_settings()
    officer = _officer(args, settings)
    with _writing(settings, f"seisan breaks comment {args.break_id}") as con:
        event = comment(con, args.break_id, officer, args.note, dt.datetime.now(dt.UTC))
    return _acted(event)


def cmd_resolve(args: argparse.Namespace) -> int:
    from reconciliation.breaks import resolve

    settings = load_settings()
    officer = _officer(args, settings)
    with _writing(settings, f"seisan breaks resolve {args.break_id}") as con:
        event = resolve(con, args.break_id, officer, args.reason, args.note, dt.datetime.now(dt.UTC))
    return _acted(event)


def cmd_reopen(args: argparse.Namespace) -> int:
    from reconciliation.breaks import reopen

    settings = load_settings()
    officer = _officer(args, settings)
    with _writing(settings, f"seisan breaks reopen {args.break_id}") as con:
        event = reopen(con, args.break_id, officer, args.note, dt.datetime.now(dt.UTC))
    return _acted(event)


def _action(actions, name: str, help_text: str, handler) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
    parser.add_argument("break_id", metavar="BREAK_ID", help="the break's id (BRK-..., from `seisan breaks list`)")
    parser.add_argument("--officer", default="", help="who acts (default: [officer] id in seisan.toml, "
                                                      "SEISAN_OFFICER_ID)")
    parser.set_defaults(handler=handler)
    return parser


def add_breaks_commands(commands) -> None:
    """Add `seisan breaks` and its actions to the command line's sub-commands."""
    breaks = commands.add_parser("breaks", help="list, show and work the breaks reconciliation raised",
                                 description="The breaks reconciliation raised (recon.breaks) and their history "
                                             "(recon.break_events): list and show them, assign, comment, resolve "
                                             "with a reason code, reopen. Actions are recorded with the officer id.")
    actions = breaks.add_subparsers(dest="breaks_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="breaks with aging and amount at risk, and their totals",
                                 description="Breaks (default: open), oldest first, with aging (days since first "
                                             "seen, as of --date, default the newest reconciled run date) and "
                                             "amount at risk; a totals line at the end.")
    listing.add_argument("--status", choices=STATUS_CHOICES, default="open", help="which breaks (default open)")
    listing.add_argument("--municipality", metavar="CODE", help="only this municipality (6-digit code)")
    listing.add_argument("--code", metavar="BREAK_CODE", help="only this break code (e.g. amount_mismatch)")
    listing.add_argument("--date", type=_date, help="aging as of this date; breaks first seen after it are left out")
    listing.set_defaults(handler=cmd_list)
    show = actions.add_parser("show", help="one break: its row, lineage (inbox file and line) and history",
                              description="One break: every column, where each side's rows came from (the inbox "
                                          "file and line), and its full event history.")
    show.add_argument("break_id", metavar="BREAK_ID", help="the break's id (BRK-...)")
    show.set_defaults(handler=cmd_show)
    assign = _action(actions, "assign", "give a break to an officer", cmd_assign)
    assign.add_argument("--to", required=True, metavar="OFFICER", help="the officer id to assign it to")
    assign.add_argument("--note", default=None, help="optional note")
    comment = _action(actions, "comment", "add a note to a break's history", cmd_comment)
    comment.add_argument("--note", required=True, help="the note (plain text, at most 1024 characters)")
    resolve = _action(actions, "resolve", "resolve an open or pending break with a reason code and a note",
                      cmd_resolve)
    resolve.add_argument("--reason", required=True, choices=[code.value for code in BreakResolution],
                         help="why it is resolved")
    resolve.add_argument("--note", required=True, help="what was found (plain text, at most 1024 characters)")
    reopen = _action(actions, "reopen", "reopen a resolved break", cmd_reopen)
    reopen.add_argument("--note", required=True, help="why it is reopened")
