"""What the console's pages read from the warehouse, already cut to what the account may see.

Every query takes the account's municipality codes (`scope`: None for every municipality) and filters in SQL, so
another municipality's rows are never even read for a scoped account. Values that may carry identifiers pass
reports.daily_recon.shown_value (My Numbers masked, MyKey-shaped tokens replaced by [ID], controls visible) for
accounts that must not see keys; officers and auditors see break keys with My Numbers masked, as
`seisan breaks show` shows them. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field

from console.warehouse import table_exists
from contracts.codes import mask_my_numbers
from reports.daily_recon import shown_value
from reports.officer_csv import show_controls

CHART_DAYS = 30
BREAKS_SHOWN_MAX = 500  # a page lists at most this many breaks (the filter narrows; the CSV holds every one)
RUN_LOG_ROWS_MAX = 300


def _scope_sql(column: str, scope: frozenset[str] | None) -> tuple[str, dict]:
    """A WHERE fragment keeping rows of the scope's municipalities (every row when scope is None)."""
    if scope is None:
        return "true", {}
    return f"list_contains($scope, {column})", {"scope": sorted(scope)}


def latest_run_date(con) -> dt.date | None:
    """The newest run date the gate was decided for (the console's 'today'), else the newest synced one."""
    if table_exists(con, "recon", "gate"):
        found = con.execute("select max(run_date) from recon.gate").fetchone()[0]
        if found is not None:
            return found
    if table_exists(con, "recon", "break_syncs"):
        return con.execute("select max(run_date) from recon.break_syncs").fetchone()[0]
    return None


def names(con, run_date: dt.date) -> dict[str, str]:
    if not table_exists(con, "marts", "dim_municipalities"):
        return {}
    return dict(con.execute(
        "select municipality_code, arg_max(name, valid_from) from marts.dim_municipalities "
        "where valid_from <= $d and (valid_to is null or valid_to >= $d) group by 1", {"d": run_date}).fetchall())


@dataclass(slots=True)
class MunicipalityDay:
    """One municipality's morning: gate (status, reasons as JSON-decoded dicts, amounts) and the gate of the run
    date before (previous_gate_status), expected files with whether each arrived, open/pending breaks by code
    (code, status, count, yen, oldest days), what changed on the run date (event type, count, yen), and the
    matching per pair."""

    code: str
    name: str | None
    gate_status: str | None = None
    previous_gate_status: str | None = None
    reasons: list[dict] = field(default_factory=list)
    open_breaks: int = 0
    open_break_amount_yen: int = 0
    held_amount_yen: int = 0
    sources: list[tuple] = field(default_factory=list)
    by_code: list[tuple] = field(default_factory=list)
    changes: list[tuple] = field(default_factory=list)
    pairs: list[tuple] = field(default_factory=list)


def _gates(con, run_date: dt.date, scope) -> dict[str, tuple]:
    if not table_exists(con, "recon", "gate"):
        return {}
    where, params = _scope_sql("municipality_code", scope)
    return {r[0]: r[1:] for r in con.execute(
        "select municipality_code, status, reasons, open_breaks, open_break_amount_yen, held_amount_yen "
        f"from recon.gate where run_date = $d and {where} order by 1", {"d": run_date, **params}).fetchall()}


def _grouped(con, sql: str, run_date: dt.date, scope, table: tuple[str, str]) -> dict[str | None, list[tuple]]:
    if not table_exists(con, *table):
        return {}
    where, params = _scope_sql("municipality_code", scope)
    grouped: dict[str | None, list[tuple]] = defaultdict(list)
    for row in con.execute(sql.format(where=where), {"d": run_date, **params}).fetchall():
        grouped[row[0]].append(row[1:])
    return grouped


_SOURCES = """select municipality_code, source || '/' || kind, expected, coalesce(arrived, false), latest_business_date
from recon.source_freshness where run_date = $d and expected and (municipality_code is null or {where})
order by municipality_code nulls first, 2"""
_BY_CODE = """select municipality_code, break_code, status, count(*), sum(amount_at_risk_yen)::bigint,
max(greatest(date_diff('day', first_seen_date, $d), 0)) from recon.breaks
where status in ('open', 'pending') and business_date <= $d and {where} group by all order by 1, 3, 2"""
_CHANGES = """select b.municipality_code, e.event_type, count(*), coalesce(sum(b.amount_at_risk_yen), 0)::bigint
from recon.break_events e join recon.breaks b using (break_id) where e.run_date = $d and {where}
group by all order by 1, 2"""
_PAIRS = """select municipality_code, pair, left_rows, right_rows, matched_pairs, matched_amount_yen, breaks,
break_amount_yen, pending, pending_amount_yen from recon.match_summary where run_date = $d and {where}
order by 1, 2"""


def today(con, run_date: dt.date, scope: frozenset[str] | None) -> list[MunicipalityDay]:
    """Each municipality of the scope with a gate, breaks or matching on `run_date` (sorted by code). Files
    expected of every municipality (no code) are listed under each."""
    gates = _gates(con, run_date, scope)
    previous = {}
    if table_exists(con, "recon", "gate"):
        before = con.execute("select max(run_date) from recon.gate where run_date < ?", [run_date]).fetchone()[0]
        previous = _gates(con, before, scope) if before is not None else {}
    sources = _grouped(con, _SOURCES, run_date, scope, ("recon", "source_freshness"))
    by_code = _grouped(con, _BY_CODE.replace("{where}", "municipality_code is not null and {where}"), run_date,
                       scope, ("recon", "breaks"))
    changes = _grouped(con, _CHANGES.replace("{where}", "b.municipality_code is not null and {where}"), run_date,
                       scope, ("recon", "break_events"))
    pairs = _grouped(con, _PAIRS, run_date, scope, ("recon", "match_summary"))
    known = names(con, run_date)
    codes = sorted({c for c in (*gates, *by_code, *changes, *pairs, *sources) if c is not None})
    days = []
    for code in codes:
        day = MunicipalityDay(code, known.get(code))
        if code in gates:
            status, reasons, open_breaks, at_risk, held = gates[code]
            day.gate_status, day.reasons = status, json.loads(reasons)
            day.open_breaks, day.open_break_amount_yen, day.held_amount_yen = open_breaks, at_risk, held
        day.previous_gate_status = previous[code][0] if code in previous else None
        day.sources = sources.get(None, []) + sources.get(code, [])
        day.by_code, day.changes, day.pairs = by_code.get(code, []), changes.get(code, []), pairs.get(code, [])
        days.append(day)
    return days


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One run date of the 30-day chart: yen matched (recon.match_summary) and yen held (recon.gate)."""

    run_date: dt.date
    matched_yen: int
    held_yen: int


def chart(con, run_date: dt.date, scope: frozenset[str] | None) -> list[ChartPoint]:
    """Matched and held yen per run date over the CHART_DAYS days up to `run_date`, for the scope."""
    since = run_date - dt.timedelta(days=CHART_DAYS - 1)
    where, params = _scope_sql("municipality_code", scope)
    matched: dict[dt.date, int] = {}
    held: dict[dt.date, int] = {}
    args = {"since": since, "d": run_date, **params}
    if table_exists(con, "recon", "match_summary"):
        matched = dict(con.execute(
            "select run_date, sum(matched_amount_yen)::bigint from recon.match_summary "
            f"where run_date between $since and $d and {where} group by 1", args).fetchall())
    if table_exists(con, "recon", "gate"):
        held = dict(con.execute(
            "select run_date, sum(held_amount_yen + open_break_amount_yen)::bigint from recon.gate "
            f"where run_date between $since and $d and {where} group by 1", args).fetchall())
    if not matched and not held:
        return []
    dates = [since + dt.timedelta(days=n) for n in range(CHART_DAYS)]  # every day a slot: gaps show as gaps
    return [ChartPoint(d, int(matched.get(d) or 0), int(held.get(d) or 0)) for d in dates]


def chart_svg(points: list[ChartPoint], labels: tuple[str, str], width: int = 640, height: int = 180) -> str:
    """An inline SVG of two bar series (matched, held) with an axis label per week; numbers only, escaped."""
    import html

    if not points:
        return ""
    top = max(max(p.matched_yen, p.held_yen) for p in points) or 1
    plot_h, left, bottom = height - 40, 10, height - 22
    step = (width - left - 10) / len(points)
    bar = max(min(step / 2 - 1, 12), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{html.escape(labels[0])} / {html.escape(labels[1])}">',
             f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#888"/>']
    for i, p in enumerate(points):
        x = left + i * step
        for j, (value, colour) in enumerate(((p.matched_yen, "#2b7a4b"), (p.held_yen, "#c0392b"))):
            h = round(plot_h * value / top, 1)
            parts.append(f'<rect x="{x + j * bar:.1f}" y="{bottom - h:.1f}" width="{bar:.1f}" height="{h}" '
                         f'fill="{colour}"><title>{p.run_date} {html.escape(labels[j])} {value:,}</title></rect>')
        if i % 7 == 0 or (i == len(points) - 1 and i % 7 >= 4):
            parts.append(f'<text x="{x:.1f}" y="{height - 6}" font-size="10">{p.run_date:%m-%d}</text>')
    parts.append(f'<text x="{left}" y="12" font-size="11">max {top:,}</text></svg>')
    return "".join(parts)


# --- breaks -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ShownBreak:
    """A break as one account may see it: every text value already masked for that account."""

    break_id: str
    break_code: str
    pair: str
    status: str
    municipality_code: str | None
    business_date: dt.date | None
    first_seen_date: dt.date
    aging_days: int
    amount_at_risk_yen: int
    left: str
    right: str
    expected: str | None
    actual: str | None
    assignee: str | None
    resolution: str | None
    resolved_date: dt.date | None


def _text(value: object, sees_keys: bool) -> str | None:
    if value is None:
        return None
    return show_controls(mask_my_numbers(str(value)) or "") if sees_keys else shown_value(value)


def shown_break(b, sees_keys: bool) -> ShownBreak:
    """A reconciliation.breaks.Break masked for the account (keys shown only to officers and auditors)."""
    def side(source, key):
        if not sees_keys:
            return f"{source or '-'}"
        return f"{source or '-'}:{_text(key, True) if key is not None else '(none)'}"

    return ShownBreak(b.break_id, b.break_code, b.pair, b.status, b.municipality_code, b.business_date,
                      b.first_seen_date, b.aging_days, b.amount_at_risk_yen, side(b.left_source, b.left_key),
                      side(b.right_source, b.right_key), _text(b.expected, sees_keys), _text(b.actual, sees_keys),
                      _text(b.assignee, True), b.resolution, b.resolved_date)


def inbox_paths(con, sha256s: list[str]) -> dict[str, str]:
    """file_sha256 → the file's path relative to the inbox, from raw.file_manifest (its latest row)."""
    if not sha256s or not table_exists(con, "raw", "file_manifest"):
        return {}
    rows = con.execute("select file_sha256, arg_max(path, ingested_at) from raw.file_manifest "
                       "where list_contains(?, file_sha256) group by file_sha256", [sha256s]).fetchall()
    return dict(rows)


def lineage(text: str | None) -> list[tuple[str, object]]:
    """(file_sha256, line_number) pairs of a lineage column (the engine's JSON); anything else shown as is."""
    try:
        return [(str(e["file_sha256"]), e["line_number"]) for e in json.loads(text or "[]")]
    except (ValueError, TypeError, KeyError):
        return [(show_controls(str(text)), "?")]


def run_log(con, limit: int = RUN_LOG_ROWS_MAX) -> list[tuple]:
    """audit.step_runs, newest first (business date, step, started, seconds, summary)."""
    if not table_exists(con, "audit", "step_runs"):
        return []
    rows = con.execute("select business_date, step, started_at, seconds, summary::varchar from audit.step_runs "
                       "order by started_at desc limit ?", [limit]).fetchall()
    return [(d, step, started.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if started else "", seconds, summary)
            for d, step, started, seconds, summary in rows]


def audit_chain_present(con) -> bool:
    """True when the hash-chained audit tables exist (the audit trail's `seisan audit verify` can run)."""
    return table_exists(con, "audit", "step_runs") and table_exists(con, "audit", "outputs")


def check_results(con, run_date: dt.date) -> list[tuple]:
    """recon.check_results of a run date: suite, expectation, target, municipality, severity, success, observed,
    unexpected count (failures first)."""
    if not table_exists(con, "recon", "check_results"):
        return []
    return con.execute("select suite, expectation, target, municipality_code, severity, success, observed, "
                       "unexpected_count from recon.check_results where run_date = ? "
                       "order by success, severity, suite, expectation", [run_date]).fetchall()


def payout_municipalities(con, payout_ids: list[str]) -> dict[str, str]:
    """payout id → municipality code (payments.payouts), for deciding whose a statement PDF is."""
    if not payout_ids or not table_exists(con, "payments", "payouts"):
        return {}
    return dict(con.execute("select payout_id, municipality_code from payments.payouts "
                            "where list_contains(?, payout_id)", [payout_ids]).fetchall())
