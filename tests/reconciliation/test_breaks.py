"""The break store's lifecycle (reconciliation.breaks) on hand-written findings over several run dates, the
officer's actions, and a Hypothesis property: whatever the sequence of syncs and officer actions, one row per
break, events only appended, statuses and events equal to a small reference model written here."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb
import pytest
from findings_table import Finding, write_findings  # tests/reconciliation, on the path as the test's folder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.codes import my_number_check_digit
from contracts.reasons import BreakResolution
from reconciliation.breaks import (
    BreakNotFound,
    BreakStoreError,
    aging_days,
    assign,
    break_history,
    comment,
    get_break,
    list_breaks,
    reopen,
    resolve,
    store_exists,
    sync_breaks,
)

D1, D2, D3, D4 = (dt.date(2026, 11, 2) + dt.timedelta(days=n) for n in range(4))
NOW = dt.datetime(2026, 11, 6, 9, 30, tzinfo=dt.UTC)
OFFICER = "tanaka"


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        yield connection


def sync(con: duckdb.DuckDBPyConnection, run_date: dt.date, findings: list[Finding]):
    write_findings(con, run_date, findings)
    return sync_breaks(con, run_date, now=NOW)


def row(con: duckdb.DuckDBPyConnection, finding: Finding) -> dict:
    cursor = con.execute("SELECT * FROM recon.breaks WHERE break_id = ?", [finding.break_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def events(con: duckdb.DuckDBPyConnection, finding: Finding | None = None) -> list[tuple[str, dt.date, str]]:
    where, params = ("WHERE break_id = ?", [finding.break_id]) if finding else ("", [])
    return con.execute(f"SELECT event_type, run_date, actor FROM recon.break_events {where} ORDER BY event_id",
                       params).fetchall()


def table(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM recon.{name} ORDER BY 1").fetchall()


A = Finding("AUTH-A", amount_at_risk_yen=1200, expected="1200")
B_PENDING = Finding("AUTH-B", status="pending", amount_at_risk_yen=300, expected="300")
B_BREAK = Finding("AUTH-B", amount_at_risk_yen=300, expected="300")


def test_a_break_opens_persists_auto_resolves_on_late_data_and_reopens(con) -> None:
    first = sync(con, D1, [A, B_PENDING])
    assert (first.opened, first.pending, first.events) == (1, 1, 2)
    assert row(con, A)["status"] == "open" and row(con, B_PENDING)["status"] == "pending"

    second = sync(con, D2, [A, B_BREAK])  # B's window has passed: now a break
    assert (second.opened, second.events) == (1, 1)
    assert row(con, B_BREAK)["status"] == "open"
    assert row(con, A)["last_seen_date"] == D2 and row(con, A)["first_seen_date"] == D1

    third = sync(con, D3, [B_BREAK])  # A's counterpart arrived late: the finding is gone
    assert (third.auto_resolved, third.events) == (1, 1)
    a = row(con, A)
    assert (a["status"], a["resolution"], a["resolved_date"], a["last_seen_date"]) == ("resolved", "auto", D3, D2)

    fourth = sync(con, D4, [A, B_BREAK])
    assert (fourth.reopened, fourth.events) == (1, 1)
    a = row(con, A)
    assert (a["status"], a["resolution"], a["resolved_date"], a["first_seen_date"]) == ("open", None, None, D1)
    assert events(con, A) == [("opened", D1, "seisan"), ("auto_resolved", D3, "seisan"), ("reopened", D4, "seisan")]
    assert events(con, B_BREAK) == [("pending", D1, "seisan"), ("opened", D2, "seisan")]


def test_a_pending_finding_whose_counterpart_arrives_resolves_by_itself(con) -> None:
    sync(con, D1, [B_PENDING])
    sync(con, D2, [])
    b = row(con, B_PENDING)
    assert (b["status"], b["resolution"], b["resolved_date"]) == ("resolved", "auto", D2)
    assert [e[0] for e in events(con, B_PENDING)] == ["pending", "auto_resolved"]


def test_an_officer_resolution_holds_while_the_finding_persists(con) -> None:
    sync(con, D1, [A])
    event = resolve(con, A.break_id, OFFICER, BreakResolution.EXPLAINED_TIMING, "bank confirms a next-day credit",
                    NOW)
    assert (event.event_type, event.actor, event.reason_code, event.run_date) == ("resolved", OFFICER,
                                                                                   "explained_timing", D1)
    assert sync(con, D2, [A]).events == 0
    a = row(con, A)
    assert (a["status"], a["resolution"], a["resolved_date"], a["last_seen_date"]) == ("resolved", "explained_timing",
                                                                                        D1, D2)
    assert sync(con, D3, []).events == 0  # vanished: it stays the officer's resolution, no auto_resolved
    assert sync(con, D4, [A]).events == 0  # and back: still explained; only an officer reopens it
    assert row(con, A)["resolution"] == "explained_timing"


def test_a_changed_amount_updates_the_row_and_says_what_changed(con) -> None:
    sync(con, D1, [A])
    changed = Finding("AUTH-A", amount_at_risk_yen=1500, expected="1500", actual="300")
    result = sync(con, D2, [changed])
    assert (result.updated, result.events) == (1, 1)
    a = row(con, A)
    assert (a["amount_at_risk_yen"], a["expected"], a["actual"], a["status"]) == (1500, "1500", "300", "open")
    detail = json.loads(con.execute("SELECT detail_json FROM recon.break_events WHERE event_type = 'updated'")
                        .fetchone()[0])
    assert detail["changed"] == {"amount_at_risk_yen": {"from": 1200, "to": 1500},
                                 "expected": {"from": "1200", "to": "1500"}, "actual": {"from": None, "to": "300"}}
    # an officer-resolved break is updated too, and stays resolved
    resolve(con, A.break_id, OFFICER, BreakResolution.ACCEPTED_DIFFERENCE, "written off, memo 12", NOW)
    assert sync(con, D3, [A]).updated == 1
    assert (row(con, A)["status"], row(con, A)["amount_at_risk_yen"]) == ("resolved", 1200)


def test_the_same_lineage_in_another_order_is_no_change(con) -> None:
    rows = [{"file_sha256": "b" * 64, "line_number": 3}, {"file_sha256": "a" * 64, "line_number": 9}]
    for run_date, listed in ((D1, rows), (D2, rows[::-1])):
        write_findings(con, run_date, [A])
        con.execute("UPDATE recon.findings SET left_lineage = ? WHERE run_date = ?", [json.dumps(listed), run_date])
        sync_breaks(con, run_date, now=NOW)
    assert [e[0] for e in events(con, A)] == ["opened"]
    assert json.loads(row(con, A)["left_lineage"]) == rows
    con.execute("UPDATE recon.findings SET left_lineage = ? WHERE run_date = ?", [json.dumps(rows[:1]), D2])
    assert sync_breaks(con, D2, now=NOW).updated == 1  # a row fewer is a change
    assert json.loads(row(con, A)["left_lineage"]) == rows[:1]


def test_rerunning_a_run_date_changes_nothing(con) -> None:
    sync(con, D1, [A, B_PENDING])
    sync(con, D2, [B_BREAK])
    breaks_before, events_before = table(con, "breaks"), table(con, "break_events")
    again = sync(con, D2, [B_BREAK])
    assert again.events == 0 and again.skipped_reason is None
    assert table(con, "breaks") == breaks_before and table(con, "break_events") == events_before


def test_a_rerun_of_the_newest_date_with_late_data_applies_it(con) -> None:
    sync(con, D1, [A, B_BREAK])
    result = sync(con, D1, [B_BREAK])  # a late file, then the same day run again
    assert result.auto_resolved == 1
    assert row(con, A)["resolved_date"] == D1


def test_an_older_run_date_leaves_the_store_as_it_is(con) -> None:
    sync(con, D1, [A])
    sync(con, D3, [A, B_BREAK])
    before = (table(con, "breaks"), table(con, "break_events"), table(con, "break_syncs"))
    result = sync(con, D2, [])  # applied, it would auto-resolve A and B
    assert result.events == 0 and "2026-11-04" in (result.skipped_reason or "")
    assert (table(con, "breaks"), table(con, "break_events"), table(con, "break_syncs")) == before


def test_inconsistent_findings_are_refused_and_nothing_is_written(con) -> None:
    sync(con, D1, [A])
    before = (table(con, "breaks"), table(con, "break_events"))
    write_findings(con, D2, [A, Finding("AUTH-A", amount_at_risk_yen=5)])
    with pytest.raises(BreakStoreError, match="repeated break_id"):
        sync_breaks(con, D2, now=NOW)
    assert (table(con, "breaks"), table(con, "break_events")) == before
    with duckdb.connect() as empty, pytest.raises(BreakStoreError, match="run the matching"):
        sync_breaks(empty, D1, now=NOW)


def test_a_run_date_the_matching_never_ran_for_resolves_nothing(con) -> None:
    sync(con, D1, [A])
    before = (table(con, "breaks"), table(con, "break_events"))
    with pytest.raises(BreakStoreError, match="no matching output for 2026-11-03"):
        sync_breaks(con, D2, now=NOW)  # nothing written for D2: applied, it would auto-resolve A
    assert (table(con, "breaks"), table(con, "break_events")) == before
    assert sync(con, D2, []).auto_resolved == 1  # the matching ran and found nothing: A resolves


def test_officer_actions_append_events_with_who_and_when(con) -> None:
    sync(con, D1, [A])
    assign(con, A.break_id, OFFICER, "suzuki", NOW)
    comment(con, A.break_id, "suzuki", "asked the platform for the use record", NOW + dt.timedelta(hours=1))
    resolve(con, A.break_id, "suzuki", "corrected_at_source", "platform redelivered", NOW + dt.timedelta(hours=2))
    reopen(con, A.break_id, OFFICER, "redelivery was still wrong", NOW + dt.timedelta(hours=3))
    history = break_history(con, A.break_id)
    assert [(e.event_type, e.actor) for e in history] == [
        ("opened", "seisan"), ("assigned", OFFICER), ("commented", "suzuki"), ("resolved", "suzuki"),
        ("reopened", OFFICER)]
    assert [e.at for e in history[1:]] == [dt.datetime(2026, 11, 6, h, 30) for h in (9, 10, 11, 12)]
    assert history[3].reason_code == "corrected_at_source" and history[3].note == "platform redelivered"
    a = row(con, A)
    assert (a["status"], a["assignee"], a["resolution"], a["resolved_date"]) == ("open", "suzuki", None, None)
    assert sync(con, D2, []).auto_resolved == 1  # reopened by hand, but the data now agree


def test_officer_actions_refuse_what_would_be_wrong(con) -> None:
    sync(con, D1, [A])
    my_number = "12345678901" + str(my_number_check_digit("12345678901"))
    refused = [
        lambda: resolve(con, A.break_id, OFFICER, "because", "a note", NOW),                 # not a reason code
        lambda: resolve(con, A.break_id, OFFICER, "false_positive", "  ", NOW),              # no note
        lambda: comment(con, A.break_id, OFFICER, f"resident {my_number} called", NOW),      # a My Number
        lambda: comment(con, A.break_id, OFFICER, "see \x1b[31mred", NOW),                   # an escape sequence
        lambda: comment(con, A.break_id, OFFICER, "x" * 1025, NOW),                          # too long
        lambda: comment(con, A.break_id, "seisan", "pretending to be the system", NOW),      # reserved actor
        lambda: comment(con, A.break_id, "", "nobody", NOW),                                 # no officer
        lambda: comment(con, A.break_id, OFFICER, "naive time", dt.datetime(2026, 11, 6)),   # no time zone
        lambda: reopen(con, A.break_id, OFFICER, "it is open", NOW),                         # not resolved
    ]
    for action in refused:
        with pytest.raises(BreakStoreError):
            action()
    with pytest.raises(BreakNotFound):
        comment(con, "BRK-0000000000000000", OFFICER, "no such break", NOW)
    resolve(con, A.break_id, OFFICER, "false_positive", "rule misread the cancel", NOW)
    with pytest.raises(BreakStoreError, match="already resolved"):
        resolve(con, A.break_id, OFFICER, "false_positive", "again", NOW)
    assert [e[0] for e in events(con, A)] == ["opened", "resolved"]


def test_aging_and_listing(con) -> None:
    assert aging_days(D1, D4) == 3 and aging_days(D1, D4, resolved_date=D2) == 1 and aging_days(D4, D1) == 0
    other = Finding("AUTH-C", municipality_code="012025", break_code="amount_mismatch", amount_at_risk_yen=77)
    sync(con, D1, [A])
    sync(con, D3, [A, other, B_PENDING])
    listed = list_breaks(con)
    assert [(b.break_id, b.aging_days, b.amount_at_risk_yen) for b in listed] == [
        (A.break_id, 2, 1200), (other.break_id, 0, 77)]
    assert [b.break_id for b in list_breaks(con, status="pending")] == [B_PENDING.break_id]
    assert [b.break_id for b in list_breaks(con, status="all", municipality_code="012025")] == [other.break_id]
    assert [b.break_id for b in list_breaks(con, status="all", break_code="amount_mismatch")] == [other.break_id]
    assert [b.break_id for b in list_breaks(con, as_of=D2)] == [A.break_id]  # first seen on or before D2
    assert get_break(con, A.break_id, as_of=D4).aging_days == 3
    with pytest.raises(BreakStoreError):
        list_breaks(con, status="closed")


# --- property: any sequence of syncs and officer actions agrees with a reference model -----------------------

KEYS = ("K1", "K2", "K3", "K4", "K5")


@dataclass
class ModelBreak:
    status: str
    resolution: str | None
    fields: tuple


@dataclass
class Model:
    """The lifecycle as design9.md words it, written independently of the SQL."""

    breaks: dict[str, ModelBreak] = field(default_factory=dict)
    newest: dt.date | None = None

    def sync(self, run_date: dt.date, findings: list[Finding]) -> list[tuple[str, str]]:
        if self.newest is not None and run_date < self.newest:
            return []
        self.newest = run_date
        seen = {f.break_id: f for f in findings}
        written = []
        for break_id in sorted(set(seen) | set(self.breaks)):
            event = self._step(break_id, seen.get(break_id))
            if event:
                written.append((break_id, event))
        return written

    def _step(self, break_id: str, finding: Finding | None) -> str | None:
        stored = self.breaks.get(break_id)
        if finding is None:
            if stored and stored.status in ("open", "pending"):
                stored.status, stored.resolution = "resolved", "auto"
                return "auto_resolved"
            return None
        fields = (finding.amount_at_risk_yen, finding.expected, finding.actual)
        status = "pending" if finding.status == "pending" else "open"
        if stored is None:
            self.breaks[break_id] = ModelBreak(status, None, fields)
            return "pending" if status == "pending" else "opened"
        changed, stored.fields = stored.fields != fields, fields
        if stored.status == "resolved" and stored.resolution == "auto":
            stored.status, stored.resolution = status, None
            return "reopened"
        if stored.status == "pending" and status == "open":
            stored.status = "open"
            return "opened"
        return "updated" if changed else None


finding_sets = st.lists(
    st.builds(Finding, key=st.sampled_from(KEYS), status=st.sampled_from(("break", "pending")),
              amount_at_risk_yen=st.sampled_from((0, 100, 2500)), expected=st.sampled_from(("100", "2500")),
              actual=st.sampled_from((None, "0"))),
    max_size=5, unique_by=lambda f: f.key)
operations = st.lists(st.one_of(
    st.tuples(st.just("sync"), st.integers(0, 5), finding_sets),
    st.tuples(st.just("resolve"), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("reopen"), st.sampled_from(KEYS), st.none()),
), min_size=1, max_size=10)


def _officer_step(con, model: Model, op: str, key: str) -> None:
    break_id = Finding(key).break_id
    stored = model.breaks.get(break_id)
    allowed = stored is not None and ((op == "resolve") == (stored.status != "resolved"))
    if not allowed:
        with pytest.raises(BreakStoreError):
            (resolve(con, break_id, OFFICER, "explained_timing", "n", NOW) if op == "resolve"
             else reopen(con, break_id, OFFICER, "n", NOW))
        return
    if op == "resolve":
        resolve(con, break_id, OFFICER, "explained_timing", "checked", NOW)
        stored.status, stored.resolution = "resolved", "explained_timing"
    else:
        reopen(con, break_id, OFFICER, "not explained after all", NOW)
        stored.status, stored.resolution = "open", None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_any_sequence_agrees_with_the_reference_model(ops) -> None:
    model = Model()
    with duckdb.connect() as con:
        for op, arg, findings in ops:
            if op == "sync":
                history_before = table(con, "break_events") if store_exists(con) else []
                run_date = D1 + dt.timedelta(days=arg)
                expected = model.sync(run_date, findings)
                result = sync(con, run_date, findings)
                new_events = con.execute("SELECT break_id, event_type FROM recon.break_events WHERE event_id > ? "
                                         "ORDER BY event_id", [len(history_before)]).fetchall()
                assert new_events == expected
                assert result.events == len(expected)
                assert table(con, "break_events")[:len(history_before)] == history_before  # append-only
            else:
                _officer_step(con, model, op, arg)
        if model.newest is None:
            return
        stored = con.execute("SELECT break_id, status, resolution, amount_at_risk_yen, expected, actual "
                             "FROM recon.breaks ORDER BY break_id").fetchall()
        assert stored == [(bid, b.status, b.resolution, *b.fields) for bid, b in sorted(model.breaks.items())]
        assert con.execute("SELECT count(*) = count(DISTINCT break_id) FROM recon.breaks").fetchone()[0]
        ids = con.execute("SELECT event_id FROM recon.break_events ORDER BY event_id").fetchall()
        assert [i for (i,) in ids] == list(range(1, len(ids) + 1))
