"""The daily reconciliation report for settlement officers, per business date (run date) D, under out/<D>/:

- `reconciliation-<D>.html`: one self-contained page (inline CSS, no script, no outside resource; works offline),
  Japanese by default or English. Per municipality: its gate (open / blocked) and each reason, counts and
  amounts matched per pair (recon.match_summary), open and pending breaks by code with amount at risk and aging,
  what changed on D (recon.break_events of D: opened, auto-resolved, resolved, reopened, ...), its largest open
  breaks, and a link to the day's Data Docs (`data-docs/index.html`, relative, beside the page).
- `breaks-<D>.csv`: every open or pending break dated D or earlier, one line each, through the officer-CSV
  writer (formula injection and control characters made inert).

What the report never shows: a My Number (masked in any value), and MyKey IDs. Break keys are left out (they
can hold a MyKey ID; `seisan breaks show BRK-…` shows one break in full to an officer), and in the expected /
actual values every token shaped like a MyKey ID (contracts.schemas.MYKEY_ID) is replaced by `[ID]` — merchant
and terminal ids, whose shapes are their own, are kept. Every text is HTML-escaped.

Reads recon.gate, recon.match_summary, recon.breaks, recon.break_events and marts.dim_municipalities (names)
through the connection given (read-only is enough). Rewritten whole, atomically, on every run of the date.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from contracts.codes import mask_my_numbers
from contracts.schemas import MERCHANT_ID, MYKEY_ID, TERMINAL_ID
from reports.officer_csv import show_controls, write_atomically, write_officer_csv

LANGUAGES = ("ja", "en")
DATA_DOCS_LINK = "data-docs/index.html"
ID_MASK = "[ID]"
LARGEST_BREAKS_SHOWN = 20  # per municipality in the page; the CSV holds every one

BREAKS_CSV_COLUMNS = ("break_id", "municipality_code", "break_code", "pair", "status", "business_date",
                      "first_seen_date", "age_days", "amount_at_risk_yen", "left_source", "right_source",
                      "expected", "actual", "assignee")

_ID_LIKE = re.compile(rf"(?<![A-Za-z0-9]){MYKEY_ID}(?![A-Za-z0-9])")
_KEPT_IDS = re.compile(f"{MERCHANT_ID}|{TERMINAL_ID}")
_REQUIRED = (("recon", "gate"), ("recon", "match_summary"), ("recon", "breaks"), ("recon", "break_events"))
_UNKNOWN = "-"  # the municipality column of breaks that name none

TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "title": "日次照合レポート", "business_date": "業務日", "generated": "作成", "materiality": "重要性の閾値",
        "summary": "自治体ごとの概要", "municipality": "自治体", "gate": "支払ゲート", "open": "開放（支払可）",
        "blocked": "停止（支払不可）", "reasons": "理由", "none": "なし", "open_breaks": "未解決の差異",
        "at_risk": "リスク金額", "held": "保留額", "pairs": "照合ペアごとの件数と金額", "pair": "ペア",
        "left_rows": "左件数", "right_rows": "右件数", "matched": "一致件数", "matched_yen": "一致金額",
        "breaks": "差異", "break_yen": "差異金額", "pending": "到着待ち", "pending_yen": "到着待ち金額",
        "by_code": "差異コード別（未解決・到着待ち）", "code": "差異コード", "status": "状態", "count": "件数",
        "oldest": "最長経過日数", "changes": "前日からの変化", "event": "出来事", "largest": "金額の大きい未解決の差異",
        "break_id": "差異ID", "date": "データ日付", "age": "経過日数", "assignee": "担当", "data_docs":
        "データ品質レポート（Data Docs）", "data_docs_missing": "（この日には作成されていません）",
        "csv": "差異一覧CSV",
        "no_rows": "該当なし", "unknown_municipality": "自治体不明の差異", "show_hint":
        "差異の詳細（キーを含む）は `seisan breaks show 差異ID` で確認してください。", "lang": "ja",
        "pending_status": "到着待ち", "open_status": "未解決",
        "reason_open_breaks_over_materiality": "重要性の閾値を超える未解決の差異",
        "reason_failed_expectation": "データ品質チェックの失敗（エラー）",
        "reason_missing_source": "到着していない予定ファイル",
        "reason_unresolved_hold": "未解決の保留（支払不可の精算項目）",
        "ev_pending": "到着待ちとして記録", "ev_opened": "新規の差異", "ev_auto_resolved": "自動解消",
        "ev_resolved": "担当者が解決", "ev_reopened": "再発", "ev_assigned": "担当割当", "ev_commented": "コメント",
        "ev_updated": "更新",
    },
    "en": {
        "title": "Daily reconciliation report", "business_date": "Business date", "generated": "Generated",
        "materiality": "Materiality threshold", "summary": "Municipalities at a glance", "municipality":
        "Municipality", "gate": "Release gate", "open": "open (may pay)", "blocked": "blocked (no payment)",
        "reasons": "Reasons", "none": "none", "open_breaks": "Open breaks", "at_risk": "Amount at risk",
        "held": "Held", "pairs": "Matched per pair", "pair": "Pair", "left_rows": "Left rows",
        "right_rows": "Right rows", "matched": "Matched", "matched_yen": "Matched amount", "breaks": "Breaks",
        "break_yen": "Break amount", "pending": "Pending (awaiting data)", "pending_yen": "Pending amount",
        "by_code": "Breaks by code (open and pending)", "code": "Break code", "status": "Status", "count": "Count",
        "oldest": "Oldest (days)", "changes": "What changed since yesterday", "event": "Event",
        "largest": "Largest open breaks", "break_id": "Break id", "date": "Data date", "age": "Age (days)",
        "assignee": "Assignee", "data_docs": "Data quality (Data Docs)",
        "data_docs_missing": "(not generated for this date)", "csv": "Breaks CSV", "no_rows": "none",
        "unknown_municipality": "Breaks of no known municipality",
        "show_hint": "See one break in full (keys included) with `seisan breaks show BREAK_ID`.", "lang": "en",
        "pending_status": "pending", "open_status": "open",
        "reason_open_breaks_over_materiality": "open breaks over the materiality threshold",
        "reason_failed_expectation": "failed data-quality checks (error severity)",
        "reason_missing_source": "expected files not arrived",
        "reason_unresolved_hold": "unresolved holds (settlement items not payable)",
        "ev_pending": "recorded as pending", "ev_opened": "opened", "ev_auto_resolved": "auto-resolved",
        "ev_resolved": "resolved by an officer", "ev_reopened": "reopened", "ev_assigned": "assigned",
        "ev_commented": "commented", "ev_updated": "updated",
    },
}

_CSS = """
body{font-family:"Hiragino Sans","Noto Sans CJK JP","Yu Gothic",Meiryo,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.2em;border-bottom:2px solid #888;margin-top:1.6em}h3{font-size:1em}
table{border-collapse:collapse;margin:.4em 0 1em}th,td{border:1px solid #bbb;padding:.2em .5em}
th{background:#eee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.open{color:#075;font-weight:bold}.blocked{color:#b00;font-weight:bold}.muted{color:#666}
ul{margin:.2em 0}code{background:#f4f4f4;padding:0 .2em}
"""


@dataclass(frozen=True, slots=True)
class DailyReconReport:
    """What `write_daily_recon_report` wrote: the page and the CSV, and the day's headline numbers."""

    html_path: Path
    csv_path: Path
    municipalities: int
    blocked: tuple[str, ...]
    open_breaks: int
    pending_breaks: int


@dataclass(frozen=True, slots=True)
class _Day:
    """Everything the page shows, read once: rows keyed by municipality code (`_UNKNOWN` for none)."""

    run_date: dt.date
    gates: dict[str, tuple]
    names: dict[str, str]
    pairs: dict[str, list[tuple]]
    by_code: dict[str, list[tuple]]
    changes: dict[str, list[tuple]]
    breaks: list[tuple]
    decided_at: dt.datetime | None
    materiality_yen: int | None


def html_path_for(out_dir: Path, run_date: dt.date) -> Path:
    return out_dir / f"reconciliation-{run_date.isoformat()}.html"


def csv_path_for(out_dir: Path, run_date: dt.date) -> Path:
    return out_dir / f"breaks-{run_date.isoformat()}.csv"


def shown_value(text: object) -> str | None:
    """A break's expected/actual value as a report may show it: no My Number, no MyKey ID (see the module
    docstring), control characters visible."""
    if text is None:
        return None
    masked = mask_my_numbers(str(text)) or ""
    masked = _ID_LIKE.sub(lambda m: m.group() if _KEPT_IDS.fullmatch(m.group()) else ID_MASK, masked)
    return show_controls(masked)


def _grouped(rows: list[tuple]) -> dict[str, list[tuple]]:
    grouped: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        grouped[row[0] if row[0] is not None else _UNKNOWN].append(row[1:])
    return grouped


def _table_exists(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and "
                            "table_name = ?", [schema, table]).fetchone()[0])


def _read_day(con, run_date: dt.date) -> _Day:
    missing = [f"{s}.{t}" for s, t in _REQUIRED if not _table_exists(con, s, t)]
    if missing:
        raise ValueError(f"no reconciliation for {run_date} to report on ({', '.join(missing)} missing); run "
                         f"`seisan reconcile --date {run_date}` first")
    d = {"d": run_date}
    gates = {r[0]: r[1:] for r in con.execute(
        "select municipality_code, status, reasons, open_breaks, open_break_amount_yen, held_amount_yen "
        "from recon.gate where run_date = $d order by 1", d).fetchall()}
    decided_at, materiality_yen = con.execute(
        "select max(decided_at), max(materiality_yen) from recon.gate where run_date = $d", d).fetchone()
    names: dict[str, str] = {}
    if _table_exists(con, "marts", "dim_municipalities"):
        names = dict(con.execute(
            "select municipality_code, arg_max(name, valid_from) from marts.dim_municipalities "
            "where valid_from <= $d and (valid_to is null or valid_to >= $d) group by 1", d).fetchall())
    pairs = _grouped(con.execute(
        "select municipality_code, pair, left_rows, right_rows, matched_pairs, matched_amount_yen, breaks, "
        "break_amount_yen, pending, pending_amount_yen from recon.match_summary where run_date = $d "
        "order by municipality_code, pair", d).fetchall())
    by_code = _grouped(con.execute(
        "select municipality_code, break_code, status, count(*), sum(amount_at_risk_yen)::bigint, "
        "max(greatest(date_diff('day', first_seen_date, $d), 0)) from recon.breaks "
        "where status in ('open', 'pending') and business_date <= $d "
        "group by all order by municipality_code, status, break_code", d).fetchall())
    changes = _grouped(con.execute(
        "select b.municipality_code, e.event_type, count(*), coalesce(sum(b.amount_at_risk_yen), 0)::bigint "
        "from recon.break_events e left join recon.breaks b using (break_id) where e.run_date = $d "
        "group by all order by b.municipality_code, e.event_type", d).fetchall())
    breaks = con.execute(
        "select break_id, municipality_code, break_code, pair, status, business_date, first_seen_date, "
        "greatest(date_diff('day', first_seen_date, $d), 0), amount_at_risk_yen, left_source, right_source, "
        "expected, actual, assignee from recon.breaks where status in ('open', 'pending') and business_date <= $d "
        "order by municipality_code nulls last, amount_at_risk_yen desc, break_id", d).fetchall()
    return _Day(run_date, gates, names, pairs, by_code, changes, breaks, decided_at, materiality_yen)


class _Page:
    """The page's words and number formats in one language; every value passes `e` (HTML escaping)."""

    def __init__(self, language: str) -> None:
        self.t = TEXT[language]
        self.language = language

    @staticmethod
    def e(value: object) -> str:
        return html.escape(show_controls(str(value)), quote=True)

    @staticmethod
    def count(value: object) -> object:
        """Whole numbers with thousands separators; None as an empty cell; anything else as it is."""
        if value is None:
            return ""
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value

    def yen(self, amount: int | None) -> str:
        if amount is None:
            return ""
        return f"{amount:,}円" if self.language == "ja" else f"¥{amount:,}"

    def table(self, headers: list[str], rows: list[list[object]], numeric: set[int]) -> str:
        if not rows:
            return f'<p class="muted">{self.e(self.t["no_rows"])}</p>'
        head = "".join(f"<th>{self.e(h)}</th>" for h in headers)
        cell = '<td class="n">{}</td>', "<td>{}</td>"
        body = "".join("<tr>" + "".join(cell[i not in numeric].format(self.e(self.count(v)))
                                        for i, v in enumerate(row)) + "</tr>" for row in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    def status(self, status: str) -> str:
        return f'<span class="{"open" if status == "open" else "blocked"}">{self.e(self.t.get(status, status))}</span>'

    def reasons(self, reasons_json: str) -> str:
        reasons = json.loads(reasons_json)
        if not reasons:
            return self.e(self.t["none"])
        parts = []
        for reason in reasons:
            label = self.t.get(f"reason_{reason['code']}", reason["code"])
            amount = f" {self.yen(reason['amount_yen'])}" if reason.get("amount_yen") is not None else ""
            items = ", ".join(f"<code>{self.e(i['name'])}</code> {i['count']:,}"
                              + (f" ({self.e(self.yen(i['amount_yen']))})" if i.get("amount_yen") is not None else "")
                              for i in reason.get("items", []))
            parts.append(f"<li><b>{self.e(label)}</b> (<code>{self.e(reason['code'])}</code>){self.e(amount)}"
                         f"{': ' + items if items else ''}</li>")
        return "<ul>" + "".join(parts) + "</ul>"


def _municipality_label(day: _Day, code: str, page: _Page) -> str:
    if code == _UNKNOWN:
        return page.t["unknown_municipality"]
    name = day.names.get(code)
    return f"{name} ({code})" if name else code


def _summary_section(day: _Day, codes: list[str], page: _Page) -> str:
    t = page.t
    rows = []
    for code in codes:
        gate = day.gates.get(code)
        if gate is None:
            continue
        status, _, open_breaks, at_risk, held = gate
        rows.append((code, status, open_breaks, at_risk, held))
    head = "".join(f"<th>{page.e(h)}</th>" for h in (t["municipality"], t["gate"], t["open_breaks"], t["at_risk"],
                                                       t["held"]))
    body = "".join(f'<tr><td><a href="#m-{page.e(code)}">{page.e(_municipality_label(day, code, page))}</a></td>'
                   f"<td>{page.status(status)}</td>"
                   f'<td class="n">{open_breaks:,}</td><td class="n">{page.e(page.yen(at_risk))}</td>'
                   f'<td class="n">{page.e(page.yen(held))}</td></tr>'
                   for code, status, open_breaks, at_risk, held in rows)
    return f"<h2>{page.e(t['summary'])}</h2><table><tr>{head}</tr>{body}</table>"


def _largest_open(day: _Day) -> dict[str, list[tuple]]:
    """Each municipality's largest open breaks (day.breaks is sorted by municipality, then amount), in one pass."""
    largest: dict[str, list[tuple]] = defaultdict(list)
    for row in day.breaks:
        shown = largest[row[1] or _UNKNOWN]
        if row[4] == "open" and len(shown) < LARGEST_BREAKS_SHOWN:
            shown.append(row)
    return largest


def _municipality_section(day: _Day, code: str, page: _Page, largest: list[tuple]) -> str:
    t, e, yen = page.t, page.e, page.yen
    out = [f'<h2 id="m-{e(code)}">{e(_municipality_label(day, code, page))}</h2>']
    gate = day.gates.get(code)
    if gate is not None:
        out.append(f"<p>{e(t['gate'])}: {page.status(gate[0])}</p>")
        out.append(f"<h3>{e(t['reasons'])}</h3>{page.reasons(gate[1])}")
    out.append(f"<h3>{e(t['pairs'])}</h3>")
    out.append(page.table([t["pair"], t["left_rows"], t["right_rows"], t["matched"], t["matched_yen"], t["breaks"],
                           t["break_yen"], t["pending"], t["pending_yen"]],
                          [[p, lr, rr, m, yen(my), b, yen(by), pe, yen(py)]
                           for p, lr, rr, m, my, b, by, pe, py in day.pairs.get(code, [])],
                          numeric={1, 2, 3, 4, 5, 6, 7, 8}))
    out.append(f"<h3>{e(t['by_code'])}</h3>")
    out.append(page.table([t["code"], t["status"], t["count"], t["at_risk"], t["oldest"]],
                          [[c, t.get(f"{s}_status", s), n, yen(a), age]
                           for c, s, n, a, age in day.by_code.get(code, [])],
                          numeric={2, 3, 4}))
    out.append(f"<h3>{e(t['changes'])}</h3>")
    out.append(page.table([t["event"], t["count"], t["at_risk"]],
                          [[f"{t.get('ev_' + ev, ev)} ({ev})", n, yen(a)] for ev, n, a in day.changes.get(code, [])],
                          numeric={1, 2}))
    out.append(f"<h3>{e(t['largest'])}</h3>")
    out.append(page.table([t["break_id"], t["code"], t["date"], t["age"], t["at_risk"], t["assignee"]],
                          [[b[0], b[2], b[5], b[7], yen(b[8]), b[13]] for b in largest], numeric={3, 4}))
    return "".join(out)


def render_html(day: _Day, language: str, data_docs_present: bool, csv_name: str) -> str:
    page = _Page(language)
    t, e = page.t, page.e
    codes = sorted((set(day.gates) | set(day.pairs) | set(day.by_code) | set(day.changes)) - {_UNKNOWN})
    if _UNKNOWN in day.by_code or _UNKNOWN in day.changes:
        codes.append(_UNKNOWN)
    docs = (f'<a href="{DATA_DOCS_LINK}">{e(t["data_docs"])}</a>'
            + ("" if data_docs_present else f' <span class="muted">{e(t["data_docs_missing"])}</span>'))
    header = [f"<h1>{e(t['title'])} — {e(day.run_date.isoformat())}</h1>",
              f"<p>{e(t['business_date'])}: {e(day.run_date.isoformat())}"
              + (f" · {e(t['generated'])}: {e(day.decided_at.isoformat(sep=' ', timespec='seconds'))} UTC"
                 if day.decided_at else "")
              + (f" · {e(t['materiality'])}: {e(page.yen(day.materiality_yen))}"
                 if day.materiality_yen is not None else "") + "</p>",
              f'<p>{docs} · <a href="{e(csv_name)}">{e(t["csv"])}</a></p>',
              f'<p class="muted">{e(t["show_hint"])}</p>']
    largest = _largest_open(day)
    body = header + [_summary_section(day, codes, page)] + [_municipality_section(day, c, page, largest.get(c, []))
                                                           for c in codes]
    return (f'<!DOCTYPE html>\n<html lang="{t["lang"]}"><head><meta charset="utf-8">'
            f"<title>{e(t['title'])} {e(day.run_date.isoformat())}</title><style>{_CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def _csv_rows(day: _Day) -> list[tuple]:
    rows = []
    for (break_id, municipality, code, pair, status, business_date, first_seen, age, amount, left_source,
         right_source, expected, actual, assignee) in day.breaks:
        rows.append((break_id, municipality, code, pair, status, business_date, first_seen, age, amount,
                     left_source, right_source, shown_value(expected), shown_value(actual), assignee))
    return rows


def _write_text(path: Path, text: str) -> Path:
    """Write `path` atomically: never half a page."""
    return write_atomically(path, text.encode("utf-8"))


def write_daily_recon_report(con, out_dir: Path, run_date: dt.date, *, language: str = "ja") -> DailyReconReport:
    """Write out_dir/reconciliation-<D>.html (in `language`, "ja" or "en") and out_dir/breaks-<D>.csv for the
    reconciliation of `run_date`; `out_dir` is out/<D>/ (the Data Docs are expected in out_dir/data-docs/)."""
    if language not in LANGUAGES:
        raise ValueError(f"report language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    day = _read_day(con, run_date)
    csv_path = write_officer_csv(csv_path_for(out_dir, run_date), BREAKS_CSV_COLUMNS, _csv_rows(day))
    page = render_html(day, language, (out_dir / DATA_DOCS_LINK).is_file(), csv_path.name)
    html_path = _write_text(html_path_for(out_dir, run_date), page)
    return DailyReconReport(
        html_path=html_path, csv_path=csv_path, municipalities=len(day.gates),
        blocked=tuple(code for code, gate in day.gates.items() if gate[0] != "open"),
        open_breaks=sum(1 for b in day.breaks if b[4] == "open"),
        pending_breaks=sum(1 for b in day.breaks if b[4] == "pending"))


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """One municipality's gate for a run date, as a terminal shows it (read back from recon.gate)."""

    municipality_code: str
    name: str | None
    status: str
    reasons: tuple[tuple[str, str], ...]  # (code, detail)
    open_breaks: int
    open_break_amount_yen: int
    held_amount_yen: int
    materiality_yen: int


def gate_outcomes(con, run_date: dt.date) -> list[GateOutcome]:
    """recon.gate of `run_date` (empty when no gate was decided), with the municipalities' names."""
    if not _table_exists(con, "recon", "gate"):
        return []
    names: dict[str, str] = {}
    if _table_exists(con, "marts", "dim_municipalities"):
        names = dict(con.execute(
            "select municipality_code, arg_max(name, valid_from) from marts.dim_municipalities "
            "where valid_from <= $d and (valid_to is null or valid_to >= $d) group by 1", {"d": run_date}).fetchall())
    rows = con.execute("select municipality_code, status, reasons, open_breaks, open_break_amount_yen, "
                       "held_amount_yen, materiality_yen from recon.gate where run_date = ? order by 1",
                       [run_date]).fetchall()
    return [GateOutcome(code, names.get(code), status,
                        tuple((r["code"], r["detail"]) for r in json.loads(reasons)), open_breaks, at_risk, held,
                        materiality)
            for code, status, reasons, open_breaks, at_risk, held, materiality in rows]


@dataclass(frozen=True, slots=True)
class BreakTotals:
    """The break store as of a run date: open and pending breaks dated on or before it (with their yen at risk),
    and the day's events by type (opened, auto_resolved, resolved, reopened, ...)."""

    open_breaks: int
    open_amount_yen: int
    pending_breaks: int
    pending_amount_yen: int
    events: dict[str, int]


def break_totals(con, run_date: dt.date) -> BreakTotals | None:
    """Totals of recon.breaks and the run date's recon.break_events; None before the store exists."""
    if not (_table_exists(con, "recon", "breaks") and _table_exists(con, "recon", "break_events")):
        return None
    totals = dict((status, (int(n), int(yen))) for status, n, yen in con.execute(
        "select status, count(*), coalesce(sum(amount_at_risk_yen), 0) from recon.breaks "
        "where status in ('open', 'pending') and business_date <= ? group by 1", [run_date]).fetchall())
    events = dict(con.execute("select event_type, count(*) from recon.break_events where run_date = ? "
                              "group by 1 order by 1", [run_date]).fetchall())
    (open_n, open_yen), (pending_n, pending_yen) = totals.get("open", (0, 0)), totals.get("pending", (0, 0))
    return BreakTotals(open_n, open_yen, pending_n, pending_yen, {k: int(v) for k, v in events.items()})


def format_break_totals(totals: BreakTotals | None) -> str:
    if totals is None:
        return "breaks: none recorded yet"
    events = ", ".join(f"{n:,} {event}" for event, n in totals.events.items()) or "no change"
    return (f"breaks: {totals.open_breaks:,} open (¥{totals.open_amount_yen:,} at risk), {totals.pending_breaks:,} "
            f"pending (¥{totals.pending_amount_yen:,}); today: {events}")


def format_gate_outcomes(outcomes: list[GateOutcome], run_date: dt.date, report_path: Path | None = None,
                         totals: BreakTotals | None = None) -> str:
    """A few lines for a terminal: each municipality's gate and reasons, the breaks (when `totals` is given),
    then where the report is."""
    if not outcomes:
        return f"gate for {run_date}: not decided (run `seisan reconcile --date {run_date}`)"
    blocked = [o for o in outcomes if o.status != "open"]
    lines = [f"gate for {run_date} (materiality ¥{outcomes[0].materiality_yen:,}): "
             f"{len(outcomes) - len(blocked)} open, {len(blocked)} blocked"]
    for o in outcomes:
        label = show_controls(f"{o.municipality_code} {o.name or '(not in the masters)'}")
        lines.append(f"  {label:<24} {o.status:<8} open breaks {o.open_breaks:,} (¥{o.open_break_amount_yen:,} at "
                     f"risk), held ¥{o.held_amount_yen:,}")
        lines += [f"      {code}: {show_controls(detail)}" for code, detail in o.reasons]
    if totals is not None:
        lines.append(format_break_totals(totals))
    if report_path is not None:
        lines.append(f"reconciliation report: {report_path}")
        lines.append(f"breaks CSV:            {csv_path_for(report_path.parent, run_date)}")
    return "\n".join(lines)
