"""The break store: one row per break (`recon.breaks`), its append-only history (`recon.break_events`), the
lifecycle that a day's matching findings drive (`sync_breaks`), and what an officer does with a break (assign,
comment, resolve with a reason code, reopen).

A break is identified by the matching engine's `break_id` (stable across reruns and run dates), so the store
keeps one row per break however often it is seen. `sync_breaks(con, D)` reads `recon.findings` of run date D
and moves every break through these rules, all in one transaction of set-based SQL:

    finding new                              → row, status `pending` or `open`, event `pending` / `opened`
    stored `pending`, finding now a break    → `open`, event `opened`
    stored `open`/`pending`, finding absent  → `resolved`, resolution `auto`, event `auto_resolved`
    stored auto-resolved, finding present    → `open` (or `pending`), event `reopened`
    stored resolved by an officer            → stays resolved whether the finding persists or not (it was
                                               explained; only an officer reopens it)
    still present, a field changed           → row updated, event `updated` with what changed (from → to)

A stored `open` break stays `open` even if its finding is `pending` again (an officer may already work it).
Lineage that lists the same rows in another order is no change. Rerunning the same run date gives no event and
changes no row. A run date the matching never ran for (no findings and no recon.match_summary row) is refused
while breaks are unresolved: it would auto-resolve them all. A run date older than the newest one synced leaves
the store as it is (the store only moves forward; `SyncResult.skipped_reason` says why): the findings of an
older day describe an older world, and applying them would auto-resolve or reopen breaks wrongly.

Officer actions are stamped with the newest synced run date (the day whose breaks the officer is working) and
the wall-clock time `now` (UTC). Notes never hold a My Number or control characters (refused). This module
never prints; `seisan breaks` shows what it returns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import duckdb

from contracts.codes import contains_my_number
from contracts.reasons import BreakResolution
from contracts.validation import BIDI_CONTROLS

SYSTEM_ACTOR = "seisan"  # the actor of every event the lifecycle writes; no officer may use it
AUTO_RESOLUTION = "auto"  # recon.breaks.resolution of a break resolved because its finding vanished
STATUSES = ("pending", "open", "resolved")
EVENT_TYPES = ("pending", "opened", "assigned", "commented", "resolved", "reopened", "auto_resolved", "updated")
NOTE_MAX_CHARS = 1024  # the text bound of contracts/schemas.py: a note is free text of the same kind
OFFICER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_UNSAFE_NOTE_RE = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")

# Descriptive fields a finding carries into its break; a change of any of them is an `updated` event. break_code
# and pair are part of break_id (the engine's hash), so they never change for one id.
FINDING_FIELDS = ("business_date", "municipality_code", "left_source", "left_key", "right_source", "right_key",
                  "expected", "actual", "amount_at_risk_yen", "left_lineage", "right_lineage")
BREAK_COLUMNS = ("break_id", "break_code", "pair") + FINDING_FIELDS[:9] + (
    "status", "first_seen_date", "last_seen_date", "resolved_date", "resolution", "assignee") + FINDING_FIELDS[9:]

_DDL = (
    "CREATE SCHEMA IF NOT EXISTS recon",
    """CREATE TABLE IF NOT EXISTS recon.breaks (
        break_id VARCHAR PRIMARY KEY,
        break_code VARCHAR NOT NULL,
        pair VARCHAR NOT NULL,
        business_date DATE,
        municipality_code VARCHAR,
        left_source VARCHAR,
        left_key VARCHAR,
        right_source VARCHAR,
        right_key VARCHAR,
        expected VARCHAR,
        actual VARCHAR,
        amount_at_risk_yen BIGINT NOT NULL CHECK (amount_at_risk_yen >= 0),
        status VARCHAR NOT NULL CHECK (status IN ('pending', 'open', 'resolved')),
        first_seen_date DATE NOT NULL,
        last_seen_date DATE NOT NULL,
        resolved_date DATE,
        resolution VARCHAR,
        assignee VARCHAR,
        left_lineage VARCHAR,
        right_lineage VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS recon.break_events (
        event_id BIGINT PRIMARY KEY,
        break_id VARCHAR NOT NULL,
        event_type VARCHAR NOT NULL CHECK (event_type IN ('pending', 'opened', 'assigned', 'commented', 'resolved',
                                                          'reopened', 'auto_resolved', 'updated')),
        run_date DATE,
        "at" TIMESTAMP NOT NULL,  -- quoted: AT is a keyword of DuckDB's grammar
        actor VARCHAR NOT NULL,
        reason_code VARCHAR,
        note VARCHAR,
        detail_json VARCHAR)""",
    # One row per run date the store was moved to: the newest is where the store stands (a sync that changed
    # nothing leaves no event, so the events alone cannot say it).
    """CREATE TABLE IF NOT EXISTS recon.break_syncs (
        run_date DATE PRIMARY KEY,
        synced_at TIMESTAMP NOT NULL,
        findings BIGINT NOT NULL)""",
)


class BreakStoreError(ValueError):
    """A break-store operation that cannot be done; the message is one sentence saying why."""


class BreakNotFound(BreakStoreError):
    """No break with that id in recon.breaks."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one `sync_breaks` did. run_date: the run date synced; findings: its findings read; opened / pending /
    reopened / updated / auto_resolved: events of each type written; skipped_reason: None when applied, else why
    the store was left as it was (an older run date than the newest synced)."""

    run_date: dt.date
    findings: int
    opened: int = 0
    pending: int = 0
    reopened: int = 0
    updated: int = 0
    auto_resolved: int = 0
    skipped_reason: str | None = None

    @property
    def events(self) -> int:
        return self.opened + self.pending + self.reopened + self.updated + self.auto_resolved


@dataclass(frozen=True, slots=True)
class Break:
    """One row of recon.breaks (columns as documented in docs/reconciliation.md), plus aging_days: whole days
    from first_seen_date to the as-of date (to resolved_date for a resolved break), computed by `aging_days`."""

    break_id: str
    break_code: str
    pair: str
    business_date: dt.date | None
    municipality_code: str | None
    left_source: str | None
    left_key: str | None
    right_source: str | None
    right_key: str | None
    expected: str | None
    actual: str | None
    amount_at_risk_yen: int
    status: str
    first_seen_date: dt.date
    last_seen_date: dt.date
    resolved_date: dt.date | None
    resolution: str | None
    assignee: str | None
    left_lineage: str | None
    right_lineage: str | None
    aging_days: int


@dataclass(frozen=True, slots=True)
class BreakEvent:
    """One row of recon.break_events: event_id (ascending = order written), the break, event_type, run_date (the
    run that wrote it, or for an officer's action the newest synced run date), at (UTC), actor ('seisan' or the
    officer id), reason_code (of a `resolved` event), note, detail_json (what the system saw or changed)."""

    event_id: int
    break_id: str
    event_type: str
    run_date: dt.date | None
    at: dt.datetime
    actor: str
    reason_code: str | None
    note: str | None
    detail_json: str | None


def ensure_break_store(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema recon and the break store's tables if absent (never alters existing ones)."""
    for statement in _DDL:
        con.execute(statement)


def store_exists(con: duckdb.DuckDBPyConnection) -> bool:
    """True when recon.breaks exists (a read-only connection cannot create it)."""
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'recon' "
                        "AND table_name IN ('breaks', 'break_events', 'break_syncs')").fetchone()
    return found is not None and found[0] == 3


def latest_sync_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The newest run date the store was synced to, or None before the first sync."""
    if not store_exists(con):
        return None
    row = con.execute("SELECT max(run_date) FROM recon.break_syncs").fetchone()
    return None if row is None else row[0]


def aging_days(first_seen_date: dt.date, as_of: dt.date, resolved_date: dt.date | None = None) -> int:
    """Whole days a break has been known as of `as_of`: from first seen to as_of, or to its resolution if that
    came earlier; 0 when first seen on or after as_of."""
    end = as_of if resolved_date is None else min(as_of, resolved_date)
    return max((end - first_seen_date).days, 0)


def _utc(now: dt.datetime) -> dt.datetime:
    """`now` as a naive UTC timestamp (the column's convention); a naive `now` is refused, as its zone is unknown."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise BreakStoreError("`now` must carry a time zone (e.g. datetime.now(UTC)); a naive time is ambiguous")
    return now.astimezone(dt.UTC).replace(tzinfo=None)


# --- the lifecycle -----------------------------------------------------------------------------------------------

LINEAGE_FIELDS = ("left_lineage", "right_lineage")
_LINEAGE_TYPE = """'[{"file_sha256": "VARCHAR", "line_number": "BIGINT"}]'"""


def _comparable_sql(column: str) -> str:
    """A column as compared for a change: lineage as its sorted list of rows (the same rows in another order are no
    change, so a rerun never writes an event for the order alone), every other column as it is."""
    if column.split(".")[-1] not in LINEAGE_FIELDS:
        return column
    return f"coalesce(list_sort(try(json_transform({column}, {_LINEAGE_TYPE})))::VARCHAR, {column})"


def _changed_fields_sql() -> str:
    """SQL of a JSON object {field: {"from", "to"}} holding only the FINDING_FIELDS that changed (flag c_<field>)
    between the stored value b_<field> and the finding's f_<field> (an empty object when none did)."""
    entries = ", ".join(f"{{'k': '{name}', 'f': to_json(b_{name}), 't': to_json(f_{name}), 'c': c_{name}}}"
                        for name in FINDING_FIELDS)
    return (f"to_json(map_from_entries(list_transform(list_filter([{entries}], lambda e: e.c), "
            "lambda e: {'key': e.k, 'value': {'from': e.f, 'to': e.t}})))")


def _plan_sql() -> str:
    """One row per break stored or found this run: its event (NULL for none) and its new status. The rules of the
    module docstring, as CASE expressions over the full outer join of the store and the run's findings."""
    # c_<field>: stored and found, and the values differ (the cheap text comparison first: CASE is lazy)
    fields = ", ".join(f"f.{name} AS f_{name}, b.{name} AS b_{name}, "
                       f"CASE WHEN b.break_id IS NULL OR f.break_id IS NULL OR b.{name} IS NOT DISTINCT FROM f.{name} "
                       f"THEN false ELSE {_comparable_sql('b.' + name)} IS DISTINCT FROM "
                       f"{_comparable_sql('f.' + name)} END AS c_{name}"
                       for name in FINDING_FIELDS)
    any_changed = " OR ".join(f"c_{name}" for name in FINDING_FIELDS)
    return f"""
    CREATE OR REPLACE TEMP TABLE break_sync_plan AS
    WITH f AS (SELECT * FROM recon.findings WHERE run_date = $run_date),
    joined AS (
        SELECT coalesce(b.break_id, f.break_id) AS break_id,
               b.break_id IS NOT NULL AS stored,
               f.break_id IS NOT NULL AS seen,
               b.status AS old_status,
               b.status = 'resolved' AND b.resolution = '{AUTO_RESOLUTION}' AS auto_resolved_before,
               f.status AS finding_status,
               f.break_code AS f_break_code, f.pair AS f_pair, {fields},
               f.pending_until AS f_pending_until,
               b.last_seen_date AS old_last_seen_date,
               b.amount_at_risk_yen AS old_amount_at_risk_yen
        FROM recon.breaks AS b
        FULL OUTER JOIN f ON b.break_id = f.break_id
    ),
    diffed AS (
        SELECT *, {any_changed} AS changed,
               -- only where something changed: building it for every row costs more than the rest of the sync
               CASE WHEN {any_changed} THEN {_changed_fields_sql()} ELSE '{{}}' END AS changed_json
        FROM joined
    ),
    classified AS (
        SELECT *,
            CASE
                WHEN NOT stored AND finding_status = 'pending' THEN 'pending'
                WHEN NOT stored THEN 'opened'
                WHEN NOT seen AND old_status IN ('open', 'pending') THEN 'auto_resolved'
                WHEN NOT seen THEN NULL
                WHEN auto_resolved_before THEN 'reopened'
                WHEN old_status = 'pending' AND finding_status = 'break' THEN 'opened'
                WHEN changed THEN 'updated'
            END AS event_type,
            CASE
                WHEN NOT stored OR auto_resolved_before
                    THEN CASE WHEN finding_status = 'pending' THEN 'pending' ELSE 'open' END
                WHEN NOT seen AND old_status IN ('open', 'pending') THEN 'resolved'
                WHEN old_status = 'pending' AND finding_status = 'break' THEN 'open'
                ELSE old_status
            END AS new_status
        FROM diffed
    )
    SELECT * FROM classified
    WHERE event_type IS NOT NULL OR (seen AND old_last_seen_date IS DISTINCT FROM $run_date)
    """


def _check_findings(con: duckdb.DuckDBPyConnection, run_date: dt.date) -> int:
    """The number of findings of run_date, after checking what the lifecycle relies on: the table exists, one
    finding per break_id, statuses and amounts as the engine's contract says. Going on otherwise would store a
    wrong break, so each is an error naming what is wrong."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = 'recon' AND table_name = 'findings'").fetchone()
    if not exists or not exists[0]:
        raise BreakStoreError("recon.findings does not exist: run the matching (reconciliation.engine) first")
    count, ids, bad_status, bad_amount = con.execute(
        "SELECT count(*), count(DISTINCT break_id), "
        "count(*) FILTER (WHERE status IS NULL OR status NOT IN ('break', 'pending')), "
        "count(*) FILTER (WHERE amount_at_risk_yen IS NULL OR amount_at_risk_yen < 0 OR break_id IS NULL) "
        "FROM recon.findings WHERE run_date = ?", [run_date]).fetchone()
    if ids != count:
        raise BreakStoreError(f"recon.findings of {run_date} holds {count - ids} repeated break_id(s); the matching "
                              "output must have one finding per break")
    if bad_status or bad_amount:
        raise BreakStoreError(f"recon.findings of {run_date} has {bad_status} finding(s) with a status other than "
                              f"'break'/'pending' and {bad_amount} without an id or a non-negative amount")
    return int(count)


def _check_matching_ran(con: duckdb.DuckDBPyConnection, run_date: dt.date, findings: int) -> None:
    """No findings for run_date would auto-resolve every unresolved break. That is right when the matching ran and
    found nothing, wrong when it never ran for that date: then recon.match_summary holds no row for it either (the
    engine writes one per pair and municipality with data, and a stored break means there is data)."""
    if findings:
        return
    unresolved = con.execute("SELECT count(*) FROM recon.breaks WHERE status <> 'resolved'").fetchone()[0]
    if not unresolved:
        return
    summary = con.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_schema = 'recon' AND table_name = 'match_summary'").fetchone()[0]
    if summary and con.execute("SELECT count(*) FROM recon.match_summary WHERE run_date = ?",
                               [run_date]).fetchone()[0]:
        return
    raise BreakStoreError(f"no matching output for {run_date} (nothing in recon.findings or recon.match_summary) "
                          f"while {unresolved} break(s) are unresolved: run the matching for {run_date} first")


def _write_plan_events(con: duckdb.DuckDBPyConnection, run_date: dt.date, at: dt.datetime) -> None:
    con.execute(f"""
    INSERT INTO recon.break_events
    SELECT (SELECT coalesce(max(event_id), 0) FROM recon.break_events)
               + row_number() OVER (ORDER BY break_id) AS event_id,
           break_id, event_type, $run_date, $at, '{SYSTEM_ACTOR}', NULL, NULL,
           json_object('finding_status', finding_status,
                       'pending_until', f_pending_until,
                       'amount_at_risk_yen', coalesce(f_amount_at_risk_yen, old_amount_at_risk_yen),
                       'last_seen_date', CASE WHEN seen THEN $run_date ELSE old_last_seen_date END,
                       'changed', changed_json::JSON)::VARCHAR
    FROM break_sync_plan WHERE event_type IS NOT NULL
    """, {"run_date": run_date, "at": at})


def _apply_plan_rows(con: duckdb.DuckDBPyConnection, run_date: dt.date) -> None:
    """Update the stored breaks of the plan and insert the new ones."""
    updated_fields = ", ".join(f"{name} = CASE WHEN p.c_{name} THEN p.f_{name} ELSE b.{name} END"
                               for name in FINDING_FIELDS)
    con.execute(f"""
    UPDATE recon.breaks AS b SET {updated_fields},
        status = p.new_status,
        last_seen_date = CASE WHEN p.seen THEN $run_date ELSE b.last_seen_date END,
        resolved_date = CASE WHEN p.event_type = 'auto_resolved' THEN $run_date
                             WHEN p.event_type = 'reopened' THEN NULL ELSE b.resolved_date END,
        resolution = CASE WHEN p.event_type = 'auto_resolved' THEN '{AUTO_RESOLUTION}'
                          WHEN p.event_type = 'reopened' THEN NULL ELSE b.resolution END
    FROM break_sync_plan AS p
    WHERE b.break_id = p.break_id AND p.stored
    """, {"run_date": run_date})
    inserted = ", ".join(f"f_{name}" for name in FINDING_FIELDS[:9])
    con.execute(f"""
    INSERT INTO recon.breaks ({', '.join(BREAK_COLUMNS)})
    SELECT break_id, f_break_code, f_pair, {inserted}, new_status, $run_date, $run_date, NULL, NULL, NULL,
           f_left_lineage, f_right_lineage
    FROM break_sync_plan WHERE NOT stored
    """, {"run_date": run_date})


def _event_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute("SELECT event_type, count(*) FROM break_sync_plan WHERE event_type IS NOT NULL "
                       "GROUP BY event_type").fetchall()
    return {event_type: int(n) for event_type, n in rows}


def sync_breaks(con: duckdb.DuckDBPyConnection, run_date: dt.date, *, now: dt.datetime) -> SyncResult:
    """Move the break store to run date `run_date` from its `recon.findings` (module docstring), in one
    transaction. A rerun of the same run date changes nothing; an older run date than the newest synced leaves
    the store as it is and says so in `skipped_reason`."""
    at = _utc(now)
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_break_store(con)
        findings = _check_findings(con, run_date)
        newest = latest_sync_date(con)
        if newest is not None and run_date < newest:
            con.execute("ROLLBACK")
            return SyncResult(run_date, findings, skipped_reason=(
                f"the break store is at run date {newest}, newer than {run_date}; an older run date does not "
                "change it (rerun the newest date to refresh it)"))
        _check_matching_ran(con, run_date, findings)
        con.execute(_plan_sql(), {"run_date": run_date})
        _write_plan_events(con, run_date, at)
        _apply_plan_rows(con, run_date)
        counts = _event_counts(con)
        con.execute("INSERT INTO recon.break_syncs SELECT $run_date, $at, $findings WHERE NOT EXISTS "
                    "(SELECT 1 FROM recon.break_syncs WHERE run_date = $run_date)",
                    {"run_date": run_date, "at": at, "findings": findings})
        con.execute("DROP TABLE break_sync_plan")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return SyncResult(run_date, findings, opened=counts.get("opened", 0), pending=counts.get("pending", 0),
                      reopened=counts.get("reopened", 0), updated=counts.get("updated", 0),
                      auto_resolved=counts.get("auto_resolved", 0))


# --- officer actions ---------------------------------------------------------------------------------------------

def check_officer_id(officer: str) -> str:
    """The officer id if usable as an event's actor: 1-64 characters of letters, digits and `._@-`, starting with
    a letter or digit, not the system's own actor name, not a My Number."""
    if not OFFICER_ID_RE.fullmatch(officer or "") or officer == SYSTEM_ACTOR or contains_my_number(officer):
        raise BreakStoreError(f"{officer!r} is not a usable officer id: 1-64 letters, digits or ._@- (not "
                              f"{SYSTEM_ACTOR!r})")
    return officer


def _check_note(note: str | None, *, required: bool) -> str | None:
    text = (note or "").strip()
    if not text:
        if required:
            raise BreakStoreError("a note is required: say what was found or done")
        return None
    if len(text) > NOTE_MAX_CHARS:
        raise BreakStoreError(f"the note has {len(text)} characters; at most {NOTE_MAX_CHARS} are kept")
    if _UNSAFE_NOTE_RE.search(text):
        raise BreakStoreError("the note holds control or bidirectional-formatting characters; write plain text")
    if contains_my_number(text):
        raise BreakStoreError("the note holds what looks like a My Number, which seisan never stores; leave it out")
    return text


def _current(con: duckdb.DuckDBPyConnection, break_id: str) -> tuple[str, str | None]:
    """(status, assignee) of the break, or BreakNotFound."""
    row = None
    if store_exists(con):
        row = con.execute("SELECT status, assignee FROM recon.breaks WHERE break_id = ?", [break_id]).fetchone()
    if row is None:
        raise BreakNotFound(f"no break {break_id!r} in recon.breaks (see `seisan breaks list --status all`)")
    return row[0], row[1]


def _officer_action(con: duckdb.DuckDBPyConnection, break_id: str, event_type: str, officer: str, now: dt.datetime,
                    *, changes: dict[str, object], reason_code: str | None = None, note: str | None = None,
                    detail_json: str | None = None) -> BreakEvent:
    """Append the officer's event and apply `changes` to the break's row, in one transaction."""
    at = _utc(now)
    con.execute("BEGIN TRANSACTION")
    try:
        run_date = latest_sync_date(con)
        event_id = con.execute("SELECT coalesce(max(event_id), 0) + 1 FROM recon.break_events").fetchone()[0]
        con.execute("INSERT INTO recon.break_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [event_id, break_id, event_type, run_date, at, officer, reason_code, note, detail_json])
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            con.execute(f"UPDATE recon.breaks SET {assignments} WHERE break_id = ?", [*changes.values(), break_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return BreakEvent(event_id, break_id, event_type, run_date, at, officer, reason_code, note, detail_json)


def assign(con: duckdb.DuckDBPyConnection, break_id: str, officer: str, assignee: str, now: dt.datetime,
           note: str | None = None) -> BreakEvent:
    """`officer` gives the break to `assignee` (an officer id); any status (a resolved break may need follow-up)."""
    check_officer_id(officer)
    check_officer_id(assignee)
    text = _check_note(note, required=False)
    _, previous = _current(con, break_id)
    return _officer_action(con, break_id, "assigned", officer, now, changes={"assignee": assignee}, note=text,
                           detail_json=_json_pair("assignee", previous, assignee))


def comment(con: duckdb.DuckDBPyConnection, break_id: str, officer: str, note: str, now: dt.datetime) -> BreakEvent:
    """`officer` adds a note to the break's history; the break itself is unchanged."""
    check_officer_id(officer)
    text = _check_note(note, required=True)
    _current(con, break_id)
    return _officer_action(con, break_id, "commented", officer, now, changes={}, note=text)


def resolve(con: duckdb.DuckDBPyConnection, break_id: str, officer: str, reason_code: str, note: str,
            now: dt.datetime) -> BreakEvent:
    """`officer` resolves an open or pending break with a BreakResolution code and a note saying why. It stays
    resolved while its finding persists (it was explained)."""
    check_officer_id(officer)
    codes = [code.value for code in BreakResolution]
    if reason_code not in codes:
        raise BreakStoreError(f"{reason_code!r} is not a resolution reason; use one of {', '.join(codes)}")
    text = _check_note(note, required=True)
    status, _ = _current(con, break_id)
    if status == "resolved":
        raise BreakStoreError(f"{break_id} is already resolved; reopen it first to resolve it again")
    run_date = latest_sync_date(con)
    return _officer_action(con, break_id, "resolved", officer, now, reason_code=reason_code, note=text,
                           changes={"status": "resolved", "resolution": reason_code, "resolved_date": run_date},
                           detail_json=_json_pair("status", status, "resolved"))


def reopen(con: duckdb.DuckDBPyConnection, break_id: str, officer: str, note: str, now: dt.datetime) -> BreakEvent:
    """`officer` reopens a resolved break (status `open`). If its finding is absent at the next sync, that sync
    auto-resolves it again: the data then agree."""
    check_officer_id(officer)
    text = _check_note(note, required=True)
    status, _ = _current(con, break_id)
    if status != "resolved":
        raise BreakStoreError(f"{break_id} is {status}, not resolved; only a resolved break can be reopened")
    return _officer_action(con, break_id, "reopened", officer, now, note=text,
                           changes={"status": "open", "resolution": None, "resolved_date": None},
                           detail_json=_json_pair("status", status, "open"))


def _json_pair(field: str, before: object, after: object) -> str:
    return json.dumps({"changed": {field: {"from": before, "to": after}}}, ensure_ascii=False, separators=(",", ":"))


# --- reading -----------------------------------------------------------------------------------------------------

def _break_from_row(row: tuple, as_of: dt.date) -> Break:
    values = dict(zip(BREAK_COLUMNS, row, strict=True))
    return Break(**values, aging_days=aging_days(values["first_seen_date"], as_of, values["resolved_date"]))


def list_breaks(con: duckdb.DuckDBPyConnection, *, status: str = "open", municipality_code: str | None = None,
                break_code: str | None = None, as_of: dt.date | None = None) -> list[Break]:
    """Breaks with `status` ('all' for every one), optionally of one municipality and one code, first seen on or
    before `as_of` (default: the newest synced run date), oldest first; aging as of `as_of`."""
    if status not in (*STATUSES, "all"):
        raise BreakStoreError(f"{status!r} is not a break status; use one of {', '.join(STATUSES)} or all")
    if not store_exists(con):
        return []
    as_of = as_of or latest_sync_date(con) or dt.date.today()
    rows = con.execute(
        f"SELECT {', '.join(BREAK_COLUMNS)} FROM recon.breaks "
        "WHERE ($status = 'all' OR status = $status) AND ($municipality IS NULL OR municipality_code = $municipality) "
        "AND ($code IS NULL OR break_code = $code) AND first_seen_date <= $as_of "
        "ORDER BY first_seen_date, business_date NULLS LAST, break_id",
        {"status": status, "municipality": municipality_code, "code": break_code, "as_of": as_of}).fetchall()
    return [_break_from_row(row, as_of) for row in rows]


def get_break(con: duckdb.DuckDBPyConnection, break_id: str, as_of: dt.date | None = None) -> Break:
    """The break with that id (aging as of `as_of`, default the newest synced run date), or BreakNotFound."""
    row = None
    if store_exists(con):
        row = con.execute(f"SELECT {', '.join(BREAK_COLUMNS)} FROM recon.breaks WHERE break_id = ?",
                          [break_id]).fetchone()
    if row is None:
        raise BreakNotFound(f"no break {break_id!r} in recon.breaks (see `seisan breaks list --status all`)")
    return _break_from_row(row, as_of or latest_sync_date(con) or row[BREAK_COLUMNS.index("last_seen_date")])


def break_history(con: duckdb.DuckDBPyConnection, break_id: str) -> list[BreakEvent]:
    """Every event of the break, in the order written."""
    if not store_exists(con):
        return []
    rows = con.execute("SELECT event_id, break_id, event_type, run_date, \"at\", actor, reason_code, note, detail_json "
                       "FROM recon.break_events WHERE break_id = ? ORDER BY event_id", [break_id]).fetchall()
    return [BreakEvent(*row) for row in rows]
