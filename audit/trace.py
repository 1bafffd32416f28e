"""`seisan trace`: from a payout, settlement item, ledger event, terminal record or break back to the delivered
lines (file_sha256, inbox path, line) and the step runs that produced it; from an inbox file forward to every
yen it moved (ledger events, settlement items, statements, payouts, payment files).

Each hop is one set-based query over the lineage columns, taking the ids of the hop before as a list parameter:
raw rows carry (file_sha256, line_number); a settlement item is the events whose period and status are its
(staging.int_settlement__periods and __merchant_status, the models that made it); a statement lists its items;
a payout its sources (payments.payout_items). Read-only. Values are shown as stored except that any My Number
in a text value is masked (contracts.codes.mask_my_numbers, as `seisan breaks show` does); MyKey IDs are shown:
this is for auditors and officers, not for municipalities.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.codes import mask_my_numbers

START_KINDS = ("payout", "item", "event", "terminal", "auth", "break", "file")
HOPS_MAX = 8  # returned payouts and remainders re-paid by later payouts: follow at most this many generations
SECTIONS = ("payment_files", "payouts", "statements", "settlement_items", "ledger_events", "terminal_records",
            "breaks", "bank_checks", "files", "lines", "step_runs", "outputs")


@dataclass(slots=True)
class Trace:
    """What a trace found, section by section (each a list of rows as dicts, columns as in the warehouse):
    `start` (kind and id asked), `direction` ('back' or 'forward'), `notes` (sentences: what was not found,
    what a total means)."""

    start: dict[str, Any]
    direction: str
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def ids(self, section: str, column: str) -> list[Any]:
        return sorted({row[column] for row in self.sections.get(section, []) if row.get(column) is not None})

    def totals(self) -> dict[str, int]:
        """Yen per section: ledger events (uses and cancels signed as settled), items, payouts transferred."""
        return {
            "ledger_events_yen": sum(r["amount_yen"] or 0 for r in self.sections.get("ledger_events", [])),
            "settlement_items_yen": sum(r["amount_yen"] or 0 for r in self.sections.get("settlement_items", [])),
            "payouts_transfer_yen": sum(r["transfer_yen"] or 0 for r in self.sections.get("payouts", [])),
        }

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start, "direction": self.direction, "totals": self.totals(),
                "sections": {name: self.sections.get(name, []) for name in SECTIONS}, "notes": self.notes}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return mask_my_numbers(value)
    return value


def _rows(con, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    lists = [p for p in params if isinstance(p, list)]
    if lists and not any(lists):
        return []  # empty id lists match nothing: no need to ask
    result = con.execute(sql, list(params))
    names = [d[0] for d in result.description]
    return [{n: _jsonable(v) for n, v in zip(names, row, strict=True)} for row in result.fetchall()]


def _exists(con, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


# --- one query per hop ---------------------------------------------------------------------------------------
PAYOUT_COLUMNS = ("payout_id, batch_id, municipality_code, merchant_id, business_date, transfer_date, amount_yen, "
                  "fee_yen, fee_bearer, transfer_yen, requeue_of, state")
EVENT_SQL = """
select event_id, event_type, event_ts, municipality_code, mykey_id, merchant_id, terminal_id, auth_id, cancel_of,
    channel, cast(amount as bigint) as amount_yen, business_date, file_sha256, line_number
from raw.platform_ledger where list_contains(?, event_id) order by event_ts, event_id
"""
ITEM_SQL = """
select settlement_item_id, municipality_code, merchant_id, period_start_date, period_end_date, settlement_status,
    use_count, cancel_count, amount_yen, is_payable
from marts.fct_settlement_items where list_contains(?, settlement_item_id) order by period_start_date, 1
"""
ITEM_EVENTS_SQL = """
select distinct p.event_id
from staging.int_settlement__periods as p
inner join staging.int_settlement__merchant_status as s using (event_id)
inner join marts.fct_settlement_items as i
    on i.municipality_code = p.municipality_code and i.merchant_id = p.merchant_id
    and i.period_start_date = p.period_start_date and i.settlement_status = s.settlement_status
where list_contains(?, i.settlement_item_id)
"""
EVENT_ITEMS_SQL = """
select distinct i.settlement_item_id
from staging.int_settlement__periods as p
inner join staging.int_settlement__merchant_status as s using (event_id)
inner join marts.fct_settlement_items as i
    on i.municipality_code = p.municipality_code and i.merchant_id = p.merchant_id
    and i.period_start_date = p.period_start_date and i.settlement_status = s.settlement_status
where list_contains(?, p.event_id)
"""
TERMINAL_SQL = """
select terminal_id, seq, type as record_type, ts, merchant_id, municipality_code, mykey_id,
    cast(amount as bigint) as amount_yen, auth_id, cancel_of, business_date, file_sha256, line_number
from raw.terminal_records where {where} order by terminal_id, seq
"""
STATEMENT_SQL = """
select statement_id, municipality_code, merchant_id, period_start_date, period_end_date, amount_yen,
    settlement_item_ids, frozen_on
from payments.statements where {where} order by statement_id
"""
FILES_SQL = """
select file_sha256, arg_max(path, ingested_at) as inbox_path, arg_max(source, ingested_at) as source,
    arg_max(kind, ingested_at) as kind, arg_max(business_date, ingested_at) as business_date,
    arg_max(status, ingested_at) as status, min(ingest_run_date) as ingest_run_date
from raw.file_manifest where list_contains(?, file_sha256) group by file_sha256 order by inbox_path
"""


def _payouts(con, payout_ids: list[str]) -> list[dict[str, Any]]:
    return _rows(con, f"select {PAYOUT_COLUMNS} from payments.payouts where list_contains(?, payout_id) "
                      "order by payout_id", [payout_ids])


def _sources_of_payouts(con, payout_ids: list[str]) -> tuple[list[str], list[str]]:
    """(statement ids, earlier payout ids) that the payouts paid: adjustments name their statement, a returned
    payout or a remainder names the payout it came from."""
    rows = con.execute("""
        select coalesce(a.statement_id, case when i.source_kind = 'statement' then i.source_id end) as statement_id,
            case when i.source_kind = 'returned_payout' then i.source_id else r.payout_id end as earlier_payout_id
        from payments.payout_items as i
        left join payments.adjustments as a on i.source_kind = 'adjustment' and a.adjustment_id = i.source_id
        left join payments.remainders as r on i.source_kind = 'remainder' and r.remainder_id = i.source_id
        where list_contains(?, i.payout_id)""", [payout_ids]).fetchall()
    return sorted({s for s, _ in rows if s}), sorted({p for _, p in rows if p})


def _payouts_of_sources(con, source_ids: list[str]) -> list[str]:
    """Payouts that paid any of these statements (directly or by an adjustment), returned payouts or
    remainders of earlier payouts."""
    return [row[0] for row in con.execute("""
        select distinct i.payout_id
        from payments.payout_items as i
        left join payments.adjustments as a on i.source_kind = 'adjustment' and a.adjustment_id = i.source_id
        left join payments.remainders as r on i.source_kind = 'remainder' and r.remainder_id = i.source_id
        where list_contains(?, i.source_id) or list_contains(?, a.statement_id) or list_contains(?, r.payout_id)
        order by 1""", [source_ids, source_ids, source_ids]).fetchall()]


def _statements_by_id(con, statement_ids: list[str]) -> list[dict[str, Any]]:
    return _rows(con, STATEMENT_SQL.format(where="list_contains(?, statement_id)"), [statement_ids])


def _statements_of_items(con, item_ids: list[str]) -> list[dict[str, Any]]:
    return _rows(con, STATEMENT_SQL.format(
        where="list_has_any(cast(json_extract_string(settlement_item_ids, '$[*]') as varchar[]), ?)"), [item_ids])


def _item_ids_of_statements(statements: list[dict[str, Any]]) -> list[str]:
    return sorted({i for s in statements for i in json.loads(s["settlement_item_ids"] or "[]")})


def _batches(con, batch_ids: list[str]) -> list[dict[str, Any]]:
    """The batches, each with its payment file: from payments.batches when it names one, else the latest
    `payment_file` version audit.outputs recorded under the batch's file name (`<municipality>_<transfer
    date>_<batch id>.txt`, payments.files.file_name_for)."""
    batches = _rows(con, "select batch_id, municipality_code, business_date, transfer_date, payout_count, "
                         "total_transfer_yen, total_fee_yen, file_path, file_sha256, prepared_by, approved_by, "
                         "exported_at from payments.batches where list_contains(?, batch_id) order by batch_id",
                    [batch_ids])
    recorded = {row["batch_id"]: row for row in _payment_outputs(con, batch_ids) if row["kind"] == "payment_file"}
    for batch in batches:
        if not batch["file_path"] and batch["batch_id"] in recorded:
            batch["file_path"] = recorded[batch["batch_id"]]["path"]
            batch["file_sha256"] = recorded[batch["batch_id"]]["sha256"]
    return batches


def _payment_outputs(con, batch_ids: list[str]) -> list[dict[str, Any]]:
    """Every version audit.outputs recorded of the batches' files, manifests (prepared, then approved) and the
    copies handed to the bank, in the order written."""
    if not batch_ids or not _exists(con, "audit.outputs"):
        return []
    return _rows(con, """
        select b.batch_id, o.seq, o.path, o.kind, o.business_date, o.sha256, o.bytes, o.written_at, o.step
        from audit.outputs as o
        inner join (select unnest(?) as batch_id) as b
            on ends_with(o.path, '_' || b.batch_id || '.txt')
            or ends_with(o.path, '_' || b.batch_id || '.manifest.json')
        where o.kind in ('payment_file', 'payment_manifest', 'payment_export') and o.seq is not null
        order by o.seq""", [batch_ids])


def _lines(rows: list[dict[str, Any]], what: str, key: str) -> list[dict[str, Any]]:
    return [{"file_sha256": r["file_sha256"], "line_number": r["line_number"], "row": f"{what} {r[key]}"}
            for r in rows if r.get("file_sha256")]


# --- backward ------------------------------------------------------------------------------------------------
def _back_from_payouts(con, trace: Trace, payout_ids: list[str]) -> None:
    payouts, statements, seen = [], [], set()
    frontier = list(payout_ids)
    for _ in range(HOPS_MAX):
        frontier = [p for p in frontier if p not in seen]
        if not frontier:
            break
        seen.update(frontier)
        payouts += _payouts(con, frontier)
        statement_ids, earlier = _sources_of_payouts(con, frontier)
        statements += _statements_by_id(con, statement_ids)
        frontier = earlier
    trace.sections["payouts"] = payouts
    trace.sections["statements"] = statements
    trace.sections["payment_files"] = _batches(con, sorted({p["batch_id"] for p in payouts}))
    _back_from_items(con, trace, _item_ids_of_statements(statements))


def _back_from_items(con, trace: Trace, item_ids: list[str]) -> None:
    trace.sections["settlement_items"] = _rows(con, ITEM_SQL, [item_ids])
    event_ids = [row[0] for row in con.execute(ITEM_EVENTS_SQL, [item_ids]).fetchall()] if item_ids else []
    _back_from_events(con, trace, event_ids)


def _back_from_events(con, trace: Trace, event_ids: list[str]) -> None:
    events = _rows(con, EVENT_SQL, [event_ids])
    trace.sections["ledger_events"] = events
    auth_ids = sorted({e["auth_id"] for e in events if e["auth_id"]})
    terminal = _rows(con, TERMINAL_SQL.format(where="list_contains(?, auth_id)"), [auth_ids]) \
        if auth_ids and _exists(con, "raw.terminal_records") else []
    trace.sections.setdefault("terminal_records", []).extend(terminal)


def trace_back(con, kind: str, key: str, seq: int | None = None) -> Trace:
    """From one payout, settlement item, ledger event, terminal record (terminal id and seq, or auth id) or
    break back to the lines delivered, their files and the step runs."""
    trace = Trace({"kind": kind, "id": key if seq is None else f"{key} seq {seq}"}, "back")
    if kind == "payout":
        _back_from_payouts(con, trace, [key])
    elif kind == "item":
        trace.sections["statements"] = _statements_of_items(con, [key])
        trace.sections["payouts"] = _payouts(con, _payouts_of_sources(con, trace.ids("statements", "statement_id")))
        trace.sections["payment_files"] = _batches(con, trace.ids("payouts", "batch_id"))
        _back_from_items(con, trace, [key])
    elif kind == "event":
        _back_from_events(con, trace, [key])
        _forward_from_events(con, trace)
    elif kind in ("terminal", "auth"):
        where = "terminal_id = ? and seq = ?" if kind == "terminal" else "auth_id = ?"
        trace.sections["terminal_records"] = _rows(con, TERMINAL_SQL.format(where=where),
                                                   [key, seq] if kind == "terminal" else [key])
        auth_ids = trace.ids("terminal_records", "auth_id")
        events = [r[0] for r in con.execute("select event_id from raw.platform_ledger where list_contains(?, "
                                            "auth_id)", [auth_ids]).fetchall()] if auth_ids else []
        trace.sections["ledger_events"] = _rows(con, EVENT_SQL, [events])
        _forward_from_events(con, trace)
    elif kind == "break":
        _back_from_break(con, trace, key)
    else:
        raise ValueError(f"cannot trace back from {kind!r}; choose one of {', '.join(START_KINDS[:-1])}")
    _finish(con, trace)
    return trace


def _back_from_break(con, trace: Trace, break_id: str) -> None:
    found = _rows(con, "select break_id, break_code, business_date, municipality_code, left_source, left_key, "
                       "right_source, right_key, expected, actual, amount_at_risk_yen, status, first_seen_date, "
                       "last_seen_date, left_lineage, right_lineage from recon.breaks where break_id = ?",
                  [break_id])
    trace.sections["breaks"] = found
    if not found:
        return
    lineage = [(side, entry) for side in ("left", "right")
               for entry in json.loads(found[0][f"{side}_lineage"] or "[]")]
    trace.sections["lines"] = [{"file_sha256": e["file_sha256"], "line_number": e["line_number"],
                                "row": f"{side} side of {break_id}"} for side, e in lineage]
    pairs = [f"{e['file_sha256']}:{e['line_number']}" for _, e in lineage]
    events = [r[0] for r in con.execute("select event_id from raw.platform_ledger where list_contains(?, "
                                        "file_sha256 || ':' || line_number)", [pairs]).fetchall()] if pairs else []
    trace.sections["ledger_events"] = _rows(con, EVENT_SQL, [events])
    if pairs and _exists(con, "raw.terminal_records"):
        trace.sections["terminal_records"] = _rows(con, TERMINAL_SQL.format(
            where="list_contains(?, file_sha256 || ':' || line_number)"), [pairs])


# --- forward -------------------------------------------------------------------------------------------------
def _forward_from_events(con, trace: Trace) -> None:
    """From the trace's ledger events on: their items, the statements that froze them, payouts, files."""
    event_ids = trace.ids("ledger_events", "event_id")
    item_ids = [r[0] for r in con.execute(EVENT_ITEMS_SQL, [event_ids]).fetchall()] if event_ids else []
    trace.sections["settlement_items"] = _rows(con, ITEM_SQL, [item_ids])
    statements = _statements_of_items(con, item_ids) if item_ids else []
    trace.sections["statements"] = statements
    payout_ids, seen = _payouts_of_sources(con, [s["statement_id"] for s in statements]), set()
    for _ in range(HOPS_MAX):  # a returned payout or a remainder is paid again by a later payout
        fresh = [p for p in payout_ids if p not in seen]
        if not fresh:
            break
        seen.update(fresh)
        payout_ids = _payouts_of_sources(con, fresh)
    trace.sections["payouts"] = _payouts(con, sorted(seen))
    trace.sections["payment_files"] = _batches(con, trace.ids("payouts", "batch_id"))


PARTNER_LINKS = (  # a partner file's rows → the ledger events they stand for (the reconciliation pairs' keys)
    ("raw.partner_conversion", "l.partner_code = r.partner_code and l.partner_txn_id = r.partner_txn_id"),
    ("raw.partner_sales", "l.partner_code = r.partner_code and l.partner_txn_id = r.order_id"),
    ("raw.partner_settlement", "l.payment_ref = r.payment_ref"),
)


def _partner_events(con, shas: list[str]) -> list[str]:
    """Ledger events that the partner files' rows (conversions, online sales, acquirer settlements) stand for."""
    parts = [f"select l.event_id from {table} as r inner join raw.platform_ledger as l on {on} "
             "where list_contains(?, r.file_sha256)" for table, on in PARTNER_LINKS if _exists(con, table)]
    if not parts:
        return []
    return [r[0] for r in con.execute(" union ".join(parts), [shas] * len(parts)).fetchall()]


def trace_forward(con, file_key: str) -> Trace:
    """From one inbox file (its path relative to the inbox, or its SHA-256) to every yen it moved."""
    trace = Trace({"kind": "file", "id": file_key}, "forward")
    shas = [r[0] for r in con.execute("select distinct file_sha256 from raw.file_manifest where file_sha256 = ? "
                                      "or path = ?", [file_key.lower(), file_key]).fetchall()]
    if not shas:
        trace.notes.append(f"no file {file_key} in raw.file_manifest: give its path relative to the inbox "
                           "(as `seisan sql \"select path from raw.file_manifest\"` lists it) or its SHA-256.")
        return trace
    direct = [r[0] for r in con.execute("select event_id from raw.platform_ledger where list_contains(?, "
                                        "file_sha256)", [shas]).fetchall()]
    terminal = _rows(con, TERMINAL_SQL.format(where="list_contains(?, file_sha256)"), [shas]) \
        if _exists(con, "raw.terminal_records") else []
    auth_ids = sorted({r["auth_id"] for r in terminal if r["auth_id"]})
    by_auth = [r[0] for r in con.execute("select event_id from raw.platform_ledger where list_contains(?, auth_id)",
                                         [auth_ids]).fetchall()] if auth_ids else []
    partner = _partner_events(con, shas)
    trace.sections["terminal_records"] = terminal
    trace.sections["ledger_events"] = _rows(con, EVENT_SQL, [sorted(set(direct) | set(by_auth) | set(partner))])
    _forward_from_events(con, trace)
    if _exists(con, "recon.breaks"):
        trace.sections["breaks"] = _rows(con, """
            select break_id, break_code, business_date, municipality_code, amount_at_risk_yen, status
            from recon.breaks where list_has_any(?,
                cast(json_extract_string(left_lineage, '$[*].file_sha256') as varchar[])
                || cast(json_extract_string(right_lineage, '$[*].file_sha256') as varchar[]))
            order by break_id""", [shas])
    if _exists(con, "payments.bank_checks"):
        trace.sections["bank_checks"] = _rows(con, "select check_id, run_date, batch_id, payout_id, check_code, "
                                                   "expected_yen, actual_yen, line_number, detail from "
                                                   "payments.bank_checks where list_contains(?, file_sha256) "
                                                   "order by check_id", [shas])
    trace.sections["lines"] = [{"file_sha256": sha, "line_number": None, "row": "where the trace starts"}
                               for sha in shas]
    _finish(con, trace)
    if trace.sections["payouts"]:
        trace.notes.append("a payout's transfer holds every yen of its statements, from this file and others: "
                           "payouts_transfer_yen is what those payouts moved, not this file's share.")
    return trace


# --- files, runs and outputs, common to both directions ------------------------------------------------------
def _finish(con, trace: Trace) -> None:
    lines = list(trace.sections.get("lines", []))
    lines += _lines(trace.sections.get("ledger_events", []), "ledger event", "event_id")
    lines += _lines(trace.sections.get("terminal_records", []), "terminal record", "auth_id")
    unique = {(r["file_sha256"], r["line_number"], r["row"]): r for r in lines}
    trace.sections["lines"] = sorted(unique.values(), key=lambda r: (r["file_sha256"], r["line_number"] or 0))
    shas = sorted({r["file_sha256"] for r in lines})
    files = _rows(con, FILES_SQL, [shas]) if shas else []
    trace.sections["files"] = files
    missing = sorted(set(shas) - {f["file_sha256"] for f in files})
    if missing:
        trace.notes.append(f"{len(missing)} file(s) named by lineage are not in raw.file_manifest: "
                           f"{', '.join(missing)}")
    _runs_and_outputs(con, trace)


def _runs_and_outputs(con, trace: Trace) -> None:
    """The step runs behind the trace: the ingest runs that loaded its files; the runs of every step on the
    dates its statements were frozen, its payouts planned and its breaks found; and, when it holds settlement
    items (recomputed in full by every marts build), the latest build_marts run, whose tables it read."""
    ingest_dates = sorted({f["ingest_run_date"] for f in trace.sections.get("files", []) if f["ingest_run_date"]})
    later_dates = sorted({p["business_date"] for p in trace.sections.get("payouts", [])}
                         | {b["business_date"] for b in trace.sections.get("breaks", [])}
                         | {s["frozen_on"] for s in trace.sections.get("statements", [])})
    if _exists(con, "audit.step_runs"):
        chained = {r[0] for r in con.execute("select column_name from information_schema.columns where "
                                             "table_schema = 'audit' and table_name = 'step_runs'").fetchall()}
        seq, digest = ("seq", "row_hash") if "row_hash" in chained else ("null as seq", "null as row_hash")
        trace.sections["step_runs"] = _rows(con, f"""
            select {seq}, step, business_date, started_at, finished_at, {digest} from audit.step_runs
            where (step = 'ingest' and list_contains(?, cast(business_date as varchar)))
               or (step <> 'ingest' and list_contains(?, cast(business_date as varchar)))
               or (? and started_at = (select max(started_at) from audit.step_runs where step = 'build_marts'))
            order by started_at, step""", [ingest_dates, later_dates, bool(trace.sections.get("settlement_items"))])
    trace.sections["outputs"] = _payment_outputs(con, trace.ids("payment_files", "batch_id"))
