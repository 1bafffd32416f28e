"""The daily reconciliation report on a hand-built day: the numbers in the page and the CSV are the tables'
(counted here by hand), both languages, no My Number or MyKey ID anywhere, every text escaped, same bytes on a
rerun."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reconciliation"))

from recon_tables import (  # noqa: E402
    NOW,
    RUN_DATE,
    check,
    empty_world,
    event,
    item,
    municipality,
    open_break,
    summary,
)

from contracts.codes import contains_my_number, my_number_check_digit  # noqa: E402
from contracts.reasons import GateReason  # noqa: E402
from reconciliation.gate import decide_gates  # noqa: E402
from reports.daily_recon import BREAKS_CSV_COLUMNS, TEXT, write_daily_recon_report  # noqa: E402

TSU, ISE = "242012", "242039"
MY_NUMBER = "12345678901" + str(my_number_check_digit("12345678901"))
MYKEY = "Ab3dE6gH9k"
HOSTILE_PAIR = '<script>alert("x")</script>'


class _Cells(HTMLParser):
    """Every table row of a page as its cells' texts, and every href."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.hrefs: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href"]

    def handle_endtag(self, tag) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _cells(page: str) -> _Cells:
    parser = _Cells()
    parser.feed(page)
    return parser


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """津市: two pairs, three open breaks (one with a My Number and a MyKey ID in its values), one pending, one
    resolved; a failed check. 伊勢市: clean. One break of no municipality. Events of the day and of the day before."""
    with duckdb.connect() as c:
        empty_world(c)
        municipality(c, TSU, "津市")
        municipality(c, ISE, "伊勢市")
        summary(c, "terminal_platform_transactions", TSU, 1_000, 1_002, 998, 1_234_567, 3, 4_500, 1, 700)
        summary(c, HOSTILE_PAIR, TSU, 10, 10, 10, 5_000, 0, 0)
        summary(c, "terminal_platform_transactions", ISE, 50, 50, 50, 60_000, 0, 0)
        open_break(c, "BRK-a", "amount_mismatch", TSU, 3_000, first_seen=RUN_DATE - dt.timedelta(days=4),
                   business_date=RUN_DATE - dt.timedelta(days=5), expected=f"{MY_NUMBER} {MYKEY} 1500",
                   actual="=SUM(A1)+cmd", left_key=MYKEY)
        open_break(c, "BRK-b", "amount_mismatch", TSU, 1_000, expected="M00000001", actual="M00000002")
        open_break(c, "BRK-c", "use_missing_in_platform", TSU, 500, first_seen=RUN_DATE - dt.timedelta(days=1))
        open_break(c, "BRK-p", "use_missing_in_terminal", TSU, 700, status="pending")
        open_break(c, "BRK-r", "amount_mismatch", TSU, 9_999, status="resolved")
        open_break(c, "BRK-n", "terminal_seq_gap", None, 0)
        check(c, "keys_unique", TSU, success=False)
        event(c, "E1", "BRK-b", "opened")
        event(c, "E2", "BRK-c", "opened", run_date=RUN_DATE - dt.timedelta(days=1))
        event(c, "E3", "BRK-r", "resolved", actor="officer7")
        event(c, "E4", "BRK-p", "pending")
        event(c, "E5", "BRK-n", "opened")
        item(c, ISE, "M00000003", RUN_DATE, "payable", 60_000)
        decide_gates(c, RUN_DATE, materiality_yen=0, now=NOW)
        yield c


def _write(con, tmp_path: Path, language: str = "ja"):
    return write_daily_recon_report(con, tmp_path / RUN_DATE.isoformat(), RUN_DATE, language=language)


def test_paths_and_headline(con, tmp_path: Path) -> None:
    report = _write(con, tmp_path)
    assert report.html_path == tmp_path / "2026-11-05" / "reconciliation-2026-11-05.html"
    assert report.csv_path == tmp_path / "2026-11-05" / "breaks-2026-11-05.csv"
    assert report.municipalities == 2 and report.blocked == (TSU,)  # 伊勢市: only a break of nothing at risk
    assert (report.open_breaks, report.pending_breaks) == (4, 1)


def test_csv_holds_every_open_and_pending_break_with_its_numbers(con, tmp_path: Path) -> None:
    report = _write(con, tmp_path)
    rows = list(csv.DictReader(io.StringIO(report.csv_path.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == BREAKS_CSV_COLUMNS
    got = {r["break_id"]: (r["municipality_code"], r["break_code"], r["status"], int(r["amount_at_risk_yen"]),
                           int(r["age_days"])) for r in rows}
    assert got == {"BRK-a": (TSU, "amount_mismatch", "open", 3_000, 4),
                   "BRK-b": (TSU, "amount_mismatch", "open", 1_000, 0),
                   "BRK-c": (TSU, "use_missing_in_platform", "open", 500, 1),
                   "BRK-p": (TSU, "use_missing_in_terminal", "pending", 700, 0),
                   "BRK-n": ("", "terminal_seq_gap", "open", 0, 0)}
    by_id = {r["break_id"]: r for r in rows}
    assert by_id["BRK-a"]["actual"] == "'=SUM(A1)+cmd"  # inert in a spreadsheet
    assert by_id["BRK-a"]["expected"] == "************ [ID] 1500"
    assert (by_id["BRK-b"]["expected"], by_id["BRK-b"]["actual"]) == ("M00000001", "M00000002")  # merchants kept


def test_page_numbers_are_the_tables(con, tmp_path: Path) -> None:
    page = _write(con, tmp_path).html_path.read_text(encoding="utf-8")
    rows = _cells(page).rows
    t = TEXT["ja"]
    # summary: gate, open breaks (津市's 3 + the one of no municipality), amount at risk, held
    assert ["津市 (242012)", t["blocked"], "4", "4,500円", "0円"] in rows
    assert ["伊勢市 (242039)", t["open"], "1", "0円", "0円"] in rows  # the break of no municipality, ¥0
    # matched per pair
    assert ["terminal_platform_transactions", "1,000", "1,002", "998", "1,234,567円", "3", "4,500円", "1",
            "700円"] in rows
    assert ["terminal_platform_transactions", "50", "50", "50", "60,000円", "0", "0円", "0", "0円"] in rows
    # by code: count, amount, oldest age
    assert ["amount_mismatch", t["open_status"], "2", "4,000円", "4"] in rows
    assert ["use_missing_in_platform", t["open_status"], "1", "500円", "1"] in rows
    assert ["use_missing_in_terminal", t["pending_status"], "1", "700円", "0"] in rows
    assert not any(r and r[0] == "amount_mismatch" and "9,999円" in r for r in rows)  # resolved is not listed
    # what changed on the day: E1 opened and E3 resolved (津市), E4 pending; E2 was yesterday
    assert [f"{t['ev_opened']} (opened)", "1", "1,000円"] in rows
    assert [f"{t['ev_resolved']} (resolved)", "1", "9,999円"] in rows
    assert [f"{t['ev_pending']} (pending)", "1", "700円"] in rows
    assert sum(1 for r in rows if r[:1] == [f"{t['ev_opened']} (opened)"]) == 2  # 津市's and the unknown one's
    # largest open breaks, by amount
    largest = [r[0] for r in rows if r and r[0].startswith("BRK-")]
    assert largest == ["BRK-a", "BRK-b", "BRK-c", "BRK-n"]
    # the gate's reasons and the links
    assert t[f"reason_{GateReason.OPEN_BREAKS_OVER_MATERIALITY}"] in page
    assert t[f"reason_{GateReason.FAILED_EXPECTATION}"] in page and "keys_unique" in page
    assert "data-docs/index.html" in _cells(page).hrefs and "breaks-2026-11-05.csv" in _cells(page).hrefs
    assert t["data_docs_missing"] in page


def test_english_on_request(con, tmp_path: Path) -> None:
    out = tmp_path / RUN_DATE.isoformat()
    (out / "data-docs").mkdir(parents=True)
    (out / "data-docs" / "index.html").write_text("<html></html>")
    page = _write(con, tmp_path, "en").html_path.read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Daily reconciliation report" in page
    assert ["津市 (242012)", TEXT["en"]["blocked"], "4", "¥4,500", "¥0"] in _cells(page).rows
    assert TEXT["en"]["data_docs_missing"] not in page
    assert "円" not in page.replace("津市", "")  # no Japanese amounts


def test_never_a_my_number_or_mykey_id_and_every_text_escaped(con, tmp_path: Path) -> None:
    report = _write(con, tmp_path)
    for text in (report.html_path.read_text(encoding="utf-8"), report.csv_path.read_text(encoding="utf-8")):
        assert not contains_my_number(text) and MY_NUMBER not in text
        assert MYKEY not in text
    page = report.html_path.read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert HOSTILE_PAIR in [r[0] for r in _cells(page).rows if r]
    assert "http" not in page.replace("data-docs", "")  # self-contained: no outside resource


def test_rerun_gives_the_same_bytes(con, tmp_path: Path) -> None:
    first = _write(con, tmp_path)
    html_bytes, csv_bytes = first.html_path.read_bytes(), first.csv_path.read_bytes()
    second = _write(con, tmp_path)
    assert second.html_path.read_bytes() == html_bytes and second.csv_path.read_bytes() == csv_bytes


def test_every_gate_reason_and_event_has_words_in_both_languages() -> None:
    events = ("pending", "opened", "assigned", "commented", "resolved", "reopened", "auto_resolved", "updated")
    for language in ("ja", "en"):
        assert all(f"reason_{code}" in TEXT[language] for code in GateReason)
        assert all(f"ev_{e}" in TEXT[language] for e in events)
    assert set(TEXT["ja"]) == set(TEXT["en"])


def test_refuses_an_unknown_language_and_a_day_never_reconciled(con, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="language"):
        _write(con, tmp_path, "fr")
    with duckdb.connect() as empty, pytest.raises(ValueError, match="seisan reconcile --date 2026-11-05"):
        write_daily_recon_report(empty, tmp_path, RUN_DATE)


def test_reasons_json_is_what_the_gate_stored(con) -> None:
    reasons = json.loads(con.execute("select reasons from recon.gate where municipality_code = ?",
                                     [TSU]).fetchone()[0])
    assert [r["code"] for r in reasons] == [GateReason.OPEN_BREAKS_OVER_MATERIALITY, GateReason.FAILED_EXPECTATION]


def test_terminal_outcome_names_each_gate_and_its_reasons(con, tmp_path: Path) -> None:
    from reports.daily_recon import break_totals, format_gate_outcomes, gate_outcomes

    report = _write(con, tmp_path)
    totals = break_totals(con, RUN_DATE)
    text = format_gate_outcomes(gate_outcomes(con, RUN_DATE), RUN_DATE, report.html_path, totals)
    lines = text.splitlines()
    assert lines[0] == "gate for 2026-11-05 (materiality ¥0): 1 open, 1 blocked"
    assert lines[1].split()[:4] == [TSU, "津市", "blocked", "open"] and "(¥4,500 at risk)" in lines[1]
    assert lines[2].startswith(f"      {GateReason.OPEN_BREAKS_OVER_MATERIALITY}: 4 open breaks, ¥4,500 at risk")
    assert lines[3].startswith(f"      {GateReason.FAILED_EXPECTATION}: 1 failed")
    assert lines[4].split()[:3] == [ISE, "伊勢市", "open"]
    # open: a, b, c (津市) and n (none) = 4,500 yen; pending: p; the day's events E1, E3, E4, E5 (E2 was yesterday)
    assert lines[-3] == "breaks: 4 open (¥4,500 at risk), 1 pending (¥700); today: 2 opened, 1 pending, 1 resolved"
    assert lines[-2] == f"reconciliation report: {report.html_path}"
    assert format_gate_outcomes([], RUN_DATE).startswith("gate for 2026-11-05: not decided")
