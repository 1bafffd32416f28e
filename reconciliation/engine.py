"""The matching engine: turns the rule files (reconciliation/rules.py) into set-based DuckDB SQL and writes
run_date's rows of `recon.findings` and `recon.match_summary` (docs/reconciliation.md, "The engine").

How a pair is matched (all in SQL, no per-row Python):
1. each side is read with `date <= run_date` (the whole history: a late file simply changes the answer); the n
   side of a 1:n / n:1 pair is summed per key first;
2. one pass over all rows (`_rc_scan`): the two sides, reduced to keys, compared columns and (for a table) row
   ids, are joined on the key (FULL OUTER JOIN: a plain full outer join's load) and an ungrouped aggregate lists
   the rows that need a look -- orphans and pairs that disagree on a compared field -- and counts pair rows and
   orphans. The bulk -- one row a side, agreeing on everything -- is a match and only counted (`_rc_totals`, rows
   and amounts per municipality). Exclusivity is proven by counting, not by a hash aggregate per side: the join
   gives sum(nl * nr) pair rows over the keys on both sides, which equals the left rows paired (sum nl) only when
   every such key has one right row, and the right rows paired only when it has one left row. When a count
   disagrees, the keys each side repeats are added to the kept keys (`_rc_keys`; one aggregate per side, only
   then);
3. the kept rows are read again in full (`_rc_j`: by row id from a table, by key from a view or a summed side)
   and resolved (`_rc_resolved`). A key repeated on a side goes through exclusive best-score matching: a
   candidate's score is the number of compared fields that agree; a pair matches only when each is the other's
   unique best. A row left over that is tied (two or more equally good candidates, either way) is
   `ambiguous_match` -- never first-wins; a row that lost to a strictly better one is an orphan;
4. each compared field of a matched pair that disagrees beyond its tolerance is one finding; an orphan is
   `pending` while run_date < row date + window (or while the side's `pending_while` column is true), else a
   break.
A check (`kind: check`) has one side whose every row is a finding.

break_id = 'BRK-' + first 16 hex of sha256(pair|break_code|left_key|right_key): stable across reruns and run
dates, independent of row order. Findings that would share it (a key repeated on a side) add their lineage to
the hashed text, which is as stable (a row's file and line never change).

This module never reads configuration and never imports outside `contracts` (and its own package).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb

from reconciliation.rules import RULES_DIR, Compare, Rule, Side, Tolerance, load_rules

FINDINGS_COLUMNS = (
    ("run_date", "DATE"), ("break_id", "VARCHAR"), ("pair", "VARCHAR"), ("break_code", "VARCHAR"),
    ("status", "VARCHAR"), ("business_date", "DATE"), ("municipality_code", "VARCHAR"),
    ("left_source", "VARCHAR"), ("left_key", "VARCHAR"), ("right_source", "VARCHAR"), ("right_key", "VARCHAR"),
    ("expected", "VARCHAR"), ("actual", "VARCHAR"), ("amount_at_risk_yen", "BIGINT"), ("pending_until", "DATE"),
    ("left_lineage", "VARCHAR"), ("right_lineage", "VARCHAR"),
)
SUMMARY_COLUMNS = (
    ("run_date", "DATE"), ("pair", "VARCHAR"), ("municipality_code", "VARCHAR"), ("left_rows", "BIGINT"),
    ("right_rows", "BIGINT"), ("matched_pairs", "BIGINT"), ("matched_amount_yen", "BIGINT"), ("breaks", "BIGINT"),
    ("break_amount_yen", "BIGINT"), ("pending", "BIGINT"), ("pending_amount_yen", "BIGINT"),
)
# One row per (run_date, pair): how the pair was matched. scope: 'history' (every row dated <= run_date), 'full'
# (the same, for a pair that could have matched changed dates only: asked for, or no usable previous run) or
# 'changed' (only the dates changed since the previous run, since_run_date; the other dates' findings carried).
PAIR_RUNS_COLUMNS = (
    ("run_date", "DATE"), ("pair", "VARCHAR"), ("scope", "VARCHAR"), ("since_run_date", "DATE"),
    ("dates_matched", "BIGINT"), ("rule_sha256", "VARCHAR"), ("matched_at", "TIMESTAMP"),
)
# A pair with `changes`: its match counts per business date as last computed, from which its match_summary rows
# are summed (a run counts again only the dates it matched).
DATE_TOTALS_COLUMNS = (
    ("pair", "VARCHAR"), ("business_date", "DATE"), ("municipality_code", "VARCHAR"), ("left_rows", "BIGINT"),
    ("right_rows", "BIGINT"), ("matched_pairs", "BIGINT"), ("matched_amount_yen", "BIGINT"), ("run_date", "DATE"),
)
_FINDING_FIELDS = ", ".join(name for name, _ in FINDINGS_COLUMNS if name not in ("run_date", "break_id"))
_UNIT_INTERVAL = {"days": "DAY", "seconds": "SECOND"}


@dataclass(frozen=True, slots=True)
class PairOutcome:
    """What one rule produced on run_date: matched_pairs (0 for a check), breaks and pending findings; scope:
    history | full | changed (recon.pair_runs), dates_matched: how many dates a `changed` run matched."""

    pair: str
    kind: str
    matched_pairs: int
    breaks: int
    pending: int
    scope: str = "history"
    dates_matched: int | None = None


@dataclass(frozen=True, slots=True)
class MatchingResult:
    """One run of every rule for run_date: per-rule outcomes (sorted by pair), totals and wall seconds."""

    run_date: date
    pairs: tuple[PairOutcome, ...]
    findings: int
    breaks: int
    pending: int
    seconds: float


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema recon and the engine's output tables when missing."""
    con.execute("CREATE SCHEMA IF NOT EXISTS recon")
    for table, columns in (("findings", FINDINGS_COLUMNS), ("match_summary", SUMMARY_COLUMNS),
                           ("pair_runs", PAIR_RUNS_COLUMNS), ("pair_date_totals", DATE_TOTALS_COLUMNS)):
        body = ", ".join(f"{name} {kind}" for name, kind in columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS recon.{table} ({body})")


def run_matching(con: duckdb.DuckDBPyConnection, run_date: date, rules_dir: Path = RULES_DIR, *,
                 full: bool = False) -> MatchingResult:
    """Match every rule of rules_dir for run_date and replace run_date's rows of recon.findings,
    recon.match_summary and recon.pair_runs in one transaction. full: every pair over its whole history, also a
    pair with `changes` (which otherwise matches only the dates changed since its previous run). Raises RuleError
    for a bad rule file (before touching anything)."""
    started = time.perf_counter()
    matched_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)   # UTC, like raw.file_manifest.ingested_at
    rules = load_rules(rules_dir)
    ensure_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        outcomes = _run_all(con, rules, run_date, full=full, matched_at=matched_at)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for table in ("_rc_scan", "_rc_keys", "_rc_lrows", "_rc_rrows", "_rc_j", "_rc_totals", "_rc_resolved",
                      "_rc_findings", "_rc_summary"):
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    return MatchingResult(run_date=run_date, pairs=outcomes, findings=sum(o.breaks + o.pending for o in outcomes),
                          breaks=sum(o.breaks for o in outcomes), pending=sum(o.pending for o in outcomes),
                          seconds=time.perf_counter() - started)


def _run_all(con: duckdb.DuckDBPyConnection, rules: tuple[Rule, ...], run_date: date, *, full: bool,
             matched_at: dt.datetime) -> tuple[PairOutcome, ...]:
    day = _date_literal(run_date)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rc_findings AS SELECT {_FINDING_FIELDS} FROM recon.findings LIMIT 0")
    con.execute("CREATE OR REPLACE TEMP TABLE _rc_summary AS SELECT * EXCLUDE (run_date) FROM recon.match_summary "
                "LIMIT 0")
    outcomes = []
    for rule in rules:
        sha256 = _rule_sha256(rule)
        if rule.kind == "check":
            outcomes.append(_run_check(con, rule, day))
            _record_run(con, rule, run_date, Scope(day), matched_at, sha256)
        else:
            scope = _scope(con, rule, run_date, full=full, sha256=sha256)
            outcome = _run_pair(con, rule, scope)
            outcomes.append(replace(outcome, scope=scope.name,
                                    dates_matched=None if scope.dates is None else len(scope.dates)))
            _record_run(con, rule, run_date, scope, matched_at, sha256)
    con.execute("DELETE FROM recon.findings WHERE run_date = ?", [run_date])
    con.execute("DELETE FROM recon.match_summary WHERE run_date = ?", [run_date])
    con.execute(f"INSERT INTO recon.findings SELECT {day} AS run_date, {_BREAK_ID_SQL} AS break_id, {_FINDING_FIELDS} "
                "FROM _rc_findings")
    con.execute(f"INSERT INTO recon.match_summary SELECT {day} AS run_date, * FROM _rc_summary")
    return tuple(outcomes)


# break_id: the hashed text gets the row lineage only when two findings would otherwise share an id.
_BREAK_ID_SQL = """'BRK-' || substr(sha256(concat_ws('|', pair, break_code, coalesce(left_key, ''),
    coalesce(right_key, '')) || CASE WHEN count(*) OVER (PARTITION BY pair, break_code, left_key, right_key) > 1
    THEN '|' || left_lineage || '|' || right_lineage ELSE '' END), 1, 16)"""


def _date_literal(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


# --- scope ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scope:
    """The rows a pair matches on a run: day, the run date as a SQL literal; dates: None for every row dated on or
    before it, else only the rows of these dates (a pair with `changes`, docs/reconciliation.md "Matching only
    what changed"), the findings of its other dates carried from the run of since (the previous run date)."""

    day: str
    dates: tuple[date, ...] | None = None
    since: date | None = None
    full: bool = False

    def where(self, when: str) -> str:
        """The SQL condition on a row's date expression `when`."""
        if self.dates is None:
            return f"{when} <= {self.day}"
        if not self.dates:
            return "false"
        return f"{when} IN ({', '.join(_date_literal(d) for d in self.dates)})"

    @property
    def name(self) -> str:
        return "changed" if self.dates is not None else "full" if self.full else "history"


def _rule_sha256(rule: Rule) -> str:
    return hashlib.sha256(rule.path.read_bytes()).hexdigest()


def _scope(con: duckdb.DuckDBPyConnection, rule: Rule, run_date: date, *, full: bool, sha256: str) -> Scope:
    """The scope of a pair on run_date. Without `changes`: every row dated <= run_date. With it, unless full: the
    dates after the pair's previous run date, and the earlier ones its changes relation lists as changed after
    that run was made; every row dated <= run_date when there is no previous run, or it ran another version of the
    rule file."""
    day = _date_literal(run_date)
    if rule.changes is None:
        return Scope(day)
    previous = con.execute("SELECT run_date, rule_sha256, matched_at FROM recon.pair_runs WHERE pair = ? AND "
                           "run_date < ? ORDER BY run_date DESC LIMIT 1", [rule.pair, run_date]).fetchone()
    if full or previous is None or previous[1] != sha256:
        return Scope(day, full=True)
    since, _, since_at = previous
    changed = con.execute(f"SELECT DISTINCT CAST(business_date AS DATE) FROM {rule.changes} "
                          "WHERE changed_at > ? AND CAST(business_date AS DATE) <= ?", [since_at, since]).fetchall()
    later = [since + dt.timedelta(days=n) for n in range(1, (run_date - since).days + 1)]
    return Scope(day, dates=tuple(sorted({d for (d,) in changed} | set(later))), since=since)


def _record_run(con: duckdb.DuckDBPyConnection, rule: Rule, run_date: date, scope: Scope,
                matched_at: dt.datetime, sha256: str) -> None:
    con.execute("DELETE FROM recon.pair_runs WHERE run_date = ? AND pair = ?", [run_date, rule.pair])
    con.execute("INSERT INTO recon.pair_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_date, rule.pair, scope.name, scope.since,
                 None if scope.dates is None else len(scope.dates), sha256, matched_at])


# --- pairs ------------------------------------------------------------------------------------------------------
def _side_sql(rule: Rule, side: Side, columns: list[str], summed: bool, scope: Scope, *, slim: bool = False,
              restrict: str | None = None, rid: bool = False) -> str:
    """The side's rows in scope, renamed: k0.., d, m, a, c0.. (compared columns), sha, line, lin (lineage
    list on an n side, else NULL), pw (pending_while). slim: only k0.., c0.. and p (true), for the key scan, or
    the row's rowid as rid instead of p when rid; restrict 'key': only rows whose key is in _rc_keys (NULL keys
    included); restrict '<temp table>': only the rows whose rowid is in that table's column rid."""
    keys = [f"{k} AS k{i}" for i, k in enumerate(side.key)]
    pw = side.pending_while or "false"
    sha, line = side.lineage
    when = f"CAST({side.date} AS DATE)"   # a timestamp column counts by its calendar date
    in_scope = scope.where(when)
    if slim and not summed:
        compared = [f"{c} AS c{i}" for i, c in enumerate(columns)]
        sql = (f"SELECT {', '.join(keys + compared)}, {'rowid AS rid' if rid else 'true AS p'} "
               f"FROM {side.relation} WHERE {in_scope}")
    elif not summed:
        compared = [f"{c} AS c{i}" for i, c in enumerate(columns)]
        sql = (f"SELECT {', '.join(keys)}, {when} AS d, {side.municipality} AS m, "
               f"CAST({side.amount} AS BIGINT) AS a, {', '.join(compared + [''])}{sha} AS sha, {line} AS line, "
               f"NULL AS lin, {pw} AS pw FROM {side.relation} WHERE {in_scope}")
    else:
        group = ", ".join(side.key)
        compared = [_summed_column(rule, side, c, i) for i, c in enumerate(columns)]
        sql = (f"SELECT {', '.join(keys)}, max({when}) AS d, min({side.municipality}) AS m, "
               f"CAST(sum({side.amount}) AS BIGINT) AS a, {', '.join(compared + [''])}min({sha}) AS sha, "
               f"min({line}) AS line, "
               f"list({{'file_sha256': {sha}, 'line_number': {line}}} ORDER BY {sha}, {line}) AS lin, "
               f"bool_or({pw}) AS pw FROM {side.relation} WHERE {in_scope} GROUP BY {group}")
        if slim:
            names = [f"k{i}" for i in range(len(side.key))] + [f"c{i}" for i in range(len(columns))]
            sql = f"SELECT {', '.join(names)}, true AS p FROM ({sql})"
    if restrict not in (None, "key"):
        # by rowid, within this transaction: a hash probe of the few kept rows' ids, not of every key
        sql += f" AND rowid IN (SELECT rid FROM {restrict})"
    elif restrict == "key":
        # a row with a NULL key part matches nothing: it is an orphan, always looked at
        names = ", ".join(f"k{i}" for i in range(len(side.key)))
        nulls = " OR ".join(f"k{i} IS NULL" for i in range(len(side.key)))
        sql = (f"SELECT * FROM ({sql}) WHERE ({names}) IN (SELECT ({names}) FROM _rc_keys) OR {nulls}"
               if len(side.key) > 1 else
               f"SELECT * FROM ({sql}) WHERE k0 IN (SELECT k0 FROM _rc_keys) OR k0 IS NULL")
    return sql


def _summed_column(rule: Rule, side: Side, column: str, index: int) -> str:
    """On the n side, the amount and yen-tolerance fields are summed; any other field keeps its value when all
    rows of the key agree, else NULL (which then disagrees with the other side)."""
    yen = any(c.tolerance and c.tolerance.unit == "yen" and column in (c.left, c.right) for c in rule.compare)
    if column == side.amount or yen:
        return f"CAST(sum({column}) AS BIGINT) AS c{index}"
    return f"CASE WHEN count(DISTINCT {column}) <= 1 THEN min({column}) END AS c{index}"


def _agree_sql(compare: Compare, index: int) -> str:
    left, right = f"l_c{index}", f"r_c{index}"
    tolerance = compare.tolerance
    if tolerance is None:
        return f"({left} IS NOT DISTINCT FROM {right})"
    if tolerance.unit == "yen":
        diff = f"abs(CAST({left} AS BIGINT) - CAST({right} AS BIGINT))"
    elif tolerance.unit == "seconds":
        diff = f"abs(epoch(CAST({left} AS TIMESTAMP)) - epoch(CAST({right} AS TIMESTAMP)))"
    else:
        diff = f"abs(date_diff('day', CAST({left} AS DATE), CAST({right} AS DATE)))"
    both_null = f"({left} IS NULL AND {right} IS NULL)"
    return f"({both_null} OR coalesce({diff} <= {tolerance.value}, false))"


def _pair_columns(rule: Rule) -> tuple[list[str], list[str]]:
    return [c.left for c in rule.compare], [c.right for c in rule.compare]


@dataclass(frozen=True, slots=True)
class _Reads:
    """How the kept rows of each side are read again in full: by rowid (a plain table, not summed: the slim pass
    carries each row's rowid) or by key (a view, or an n side summed per key)."""

    left_rowid: bool = False
    right_rowid: bool = False


@dataclass(frozen=True, slots=True)
class _KeySteps:
    """The statements that find what needs a look: `scan` (the one pass over all rows), `kept` (keys and rowids
    from it) and `repeats` (keys a side repeats, and their rowids: needed, and run, only when the scan found
    a repeated key among the paired ones; they add nothing otherwise)."""

    scan: str
    kept: tuple[str, ...]
    repeats: tuple[str, ...]

    def sql(self) -> str:
        return ";\n".join((self.scan, *self.kept, *self.repeats))


def _keys_sql(rule: Rule, scope: Scope, reads: _Reads) -> _KeySteps:
    """_rc_scan, one row: the one pass over all rows -- both sides reduced to keys and compared columns (and
    rowids), FULL OUTER JOINed on the key (a plain full outer join's load); an ungrouped aggregate over its
    output counts pairs and orphans and lists the output rows that need a look: orphans and pairs that
    disagree. The bulk, one row a side agreeing on everything, is only counted. Rows in scope per side are
    counted apart (a count, no hashing).

    Exclusivity without a hash aggregate per side: the join gives sum(nl * nr) pair rows over the keys on both
    sides, while sum(nl) = left rows - left orphans; they are equal only when every such key has exactly one right
    row (nl * nr = nl iff nr = 1), and the same the other way. When both hold (`unique_pairs`), no paired key
    repeats and the listed rows are all that needs a look. When not, the keys each side repeats are added (one
    aggregate per side, only then). A key repeated on one side only is all orphans, listed anyway.

    _rc_keys: the keys to look at. _rc_lrows/_rc_rrows: the rowids of a rowid side's rows to read again."""
    assert rule.right is not None
    left_cols, right_cols = _pair_columns(rule)
    left_sql = _side_sql(rule, rule.left, left_cols, rule.cardinality == "n:1", scope, slim=True,
                         rid=reads.left_rowid)
    right_sql = _side_sql(rule, rule.right, right_cols, rule.cardinality == "1:n", scope, slim=True,
                          rid=reads.right_rowid)
    n_keys = len(rule.left.key)
    key_list = ", ".join(f"k{i}" for i in range(n_keys))
    on = " AND ".join(f"l.k{i} = r.k{i}" for i in range(n_keys))
    projected = [f"l.c{i} AS l_c{i}, r.c{i} AS r_c{i}" for i in range(len(rule.compare))]
    keys = [f"coalesce(l.k{i}, r.k{i}) AS k{i}" for i in range(n_keys)]
    rids = ["l.rid AS l_rid" if reads.left_rowid else "CAST(NULL AS BIGINT) AS l_rid",
            "r.rid AS r_rid" if reads.right_rowid else "CAST(NULL AS BIGINT) AS r_rid"]
    all_agree = " AND ".join(_agree_sql(c, i) for i, c in enumerate(rule.compare)) or "true"
    kept = ", ".join([f"'k{i}': k{i}" for i in range(n_keys)] + ["'l_rid': l_rid", "'r_rid': r_rid"])
    unique = "(SELECT unique_pairs FROM _rc_scan)"

    def present(prefix: str) -> str:   # the row's rowid, or p, is never NULL: NULL is the missing side
        rowid = reads.left_rowid if prefix == "l" else reads.right_rowid
        return f"{prefix}.{'rid' if rowid else 'p'} IS NOT NULL"

    def count(side: Side, summed: bool, cte: str) -> str:
        # rows in scope; on a plain side straight from the relation (no rowid to read: often from metadata)
        return (f"SELECT count(*) FROM {cte}" if summed else
                f"SELECT count(*) FROM {side.relation} WHERE {scope.where(f'CAST({side.date} AS DATE)')}")

    in_keys = (f"({key_list}) IN (SELECT ({key_list}) FROM _rc_keys)" if n_keys > 1
               else "k0 IN (SELECT k0 FROM _rc_keys)")
    nulls = " OR ".join(f"k{i} IS NULL" for i in range(n_keys))
    scan = f"""
CREATE OR REPLACE TEMP TABLE _rc_scan AS
WITH l AS NOT MATERIALIZED ({left_sql}), r AS NOT MATERIALIZED ({right_sql}),
j AS (
    SELECT {', '.join(keys + projected + rids)}, {present('l')} AS l_p, {present('r')} AS r_p
    FROM l FULL OUTER JOIN r ON {on}
),
o AS (
    SELECT count(*) FILTER (WHERE l_p AND r_p) AS pair_rows, count(*) FILTER (WHERE NOT r_p) AS left_orphans,
        count(*) FILTER (WHERE NOT l_p) AS right_orphans,
        coalesce(list({{{kept}}}) FILTER (WHERE NOT l_p OR NOT r_p OR NOT ({all_agree})), []) AS kept
    FROM j
)
SELECT o.*, pair_rows = ({count(rule.left, rule.cardinality == "n:1", "l")}) - left_orphans
    AND pair_rows = ({count(rule.right, rule.cardinality == "1:n", "r")}) - right_orphans AS unique_pairs
FROM o"""
    keep = [f"""
CREATE OR REPLACE TEMP TABLE _rc_keys AS
SELECT DISTINCT {', '.join(f'k.k{i} AS k{i}' for i in range(n_keys))} FROM (SELECT unnest(kept) AS k FROM _rc_scan)"""]
    repeats = [f"""
INSERT INTO _rc_keys
WITH l AS NOT MATERIALIZED ({left_sql}), r AS NOT MATERIALIZED ({right_sql})
SELECT {key_list} FROM l WHERE NOT {unique} GROUP BY ALL HAVING count(*) > 1
UNION
SELECT {key_list} FROM r WHERE NOT {unique} GROUP BY ALL HAVING count(*) > 1
EXCEPT
SELECT {key_list} FROM _rc_keys"""]
    for prefix, side_sql, rowid in (("l", left_sql, reads.left_rowid), ("r", right_sql, reads.right_rowid)):
        if not rowid:
            keep.append(f"CREATE OR REPLACE TEMP TABLE _rc_{prefix}rows AS SELECT CAST(NULL AS BIGINT) AS rid LIMIT 0")
            continue
        keep.append(f"""
CREATE OR REPLACE TEMP TABLE _rc_{prefix}rows AS
SELECT k.{prefix}_rid AS rid FROM (SELECT unnest(kept) AS k FROM _rc_scan) WHERE k.{prefix}_rid IS NOT NULL""")
        # every row of a kept key (a repeated key's rows agreeing with a candidate are not in the scan's list)
        repeats.append(f"""
INSERT INTO _rc_{prefix}rows
SELECT rid FROM ({side_sql}) WHERE NOT {unique} AND ({in_keys} OR {nulls})
EXCEPT
SELECT rid FROM _rc_{prefix}rows""")
    return _KeySteps(scan=scan, kept=tuple(keep), repeats=tuple(repeats))


def _join_sql(rule: Rule, scope: Scope, reads: _Reads, unique_pairs: bool = False) -> str:
    """CREATE the temp table _rc_j: the rows of the FULL OUTER JOIN of both sides on the key that need a look --
    orphans, keys that a side repeats (`multi`), pairs with a compared field that disagrees (`agree_i`). A pair of
    single rows that agrees on everything is the bulk of the data and is only counted (_rc_totals), never
    materialised. unique_pairs (the scan proved no paired key repeats): `multi` could only mark orphans, which
    are orphans either way, so it is false and not computed."""
    left, right = rule.left, rule.right
    assert right is not None
    left_cols, right_cols = _pair_columns(rule)
    left_sql = _side_sql(rule, left, left_cols, rule.cardinality == "n:1", scope,
                         restrict="_rc_lrows" if reads.left_rowid else "key")
    right_sql = _side_sql(rule, right, right_cols, rule.cardinality == "1:n", scope,
                          restrict="_rc_rrows" if reads.right_rowid else "key")
    n_keys = len(left.key)
    key_list = ", ".join(f"k{i}" for i in range(n_keys))
    on = " AND ".join(f"l.k{i} = r.k{i}" for i in range(n_keys))
    names = [f"k{i}" for i in range(n_keys)] + ["d", "m", "a", "sha", "line", "lin", "pw"]
    names += [f"c{i}" for i in range(len(rule.compare))]
    projected = [f"l.{n} AS l_{n}" for n in names] + [f"r.{n} AS r_{n}" for n in names]
    multi_on = " AND ".join(f"coalesce(l.k{i}, r.k{i}) = {{t}}.k{i}" for i in range(n_keys))
    agrees = [f"{_agree_sql(c, i)} AS agree_{i}" for i, c in enumerate(rule.compare)]
    all_agree = " AND ".join(_agree_sql(c, i) for i, c in enumerate(rule.compare)) or "true"
    if unique_pairs:
        return f"""
CREATE OR REPLACE TEMP TABLE _rc_j AS
WITH l AS ({left_sql}), r AS ({right_sql}),
j AS (
    SELECT {', '.join(projected)}, l.d IS NOT NULL AS l_present, r.d IS NOT NULL AS r_present, false AS multi
    FROM l FULL OUTER JOIN r ON {on}
)
SELECT *{''.join(', ' + a for a in agrees)} FROM j
WHERE NOT (l_present AND r_present AND {all_agree})"""
    return f"""
CREATE OR REPLACE TEMP TABLE _rc_j AS
WITH l AS ({left_sql}), r AS ({right_sql}),
lk AS (SELECT {key_list} FROM l GROUP BY ALL HAVING count(*) > 1),
rk AS (SELECT {key_list} FROM r GROUP BY ALL HAVING count(*) > 1),
j AS (
    SELECT {', '.join(projected)}, l.d IS NOT NULL AS l_present, r.d IS NOT NULL AS r_present,
        lk.k0 IS NOT NULL OR rk.k0 IS NOT NULL AS multi
    FROM l FULL OUTER JOIN r ON {on}
    LEFT JOIN lk ON {multi_on.format(t='lk')}
    LEFT JOIN rk ON {multi_on.format(t='rk')}
)
SELECT *{''.join(', ' + a for a in agrees)} FROM j
WHERE NOT (l_present AND r_present AND NOT multi AND {all_agree})"""


def _totals_sql(rule: Rule, scope: Scope) -> str:
    """CREATE the temp table _rc_totals: rows and amount per side, municipality and date (after summing an n
    side)."""
    assert rule.right is not None
    left_cols, right_cols = _pair_columns(rule)
    left_sql = _side_sql(rule, rule.left, left_cols, rule.cardinality == "n:1", scope)
    right_sql = _side_sql(rule, rule.right, right_cols, rule.cardinality == "1:n", scope)
    return f"""
CREATE OR REPLACE TEMP TABLE _rc_totals AS
SELECT 'l' AS side, m, d, count(*) AS n, coalesce(sum(a), 0) AS amount FROM ({left_sql}) GROUP BY ALL
UNION ALL
SELECT 'r' AS side, m, d, count(*) AS n, coalesce(sum(a), 0) AS amount FROM ({right_sql}) GROUP BY ALL"""


def _names(rule: Rule, prefix: str) -> list[str]:
    keys = [f"{prefix}_k{i}" for i in range(len(rule.left.key))]
    return keys + [f"{prefix}_{n}" for n in ("d", "m", "a", "sha", "line", "lin", "pw")] + [
        f"{prefix}_c{i}" for i in range(len(rule.compare))]


def _resolve_sql(rule: Rule, unique_pairs: bool = False) -> str:
    """CREATE the temp table _rc_resolved: one row per matched pair ('match') and per unmatched side row
    ('left_orphan', 'right_orphan', 'left_ambiguous', 'right_ambiguous'), from _rc_j. unique_pairs: the scan
    proved that no key with rows on both sides repeats, so no row needs best-score matching (the statement is
    the first branch alone; the others would be empty)."""
    left, right = _names(rule, "l"), _names(rule, "r")
    agrees = [f"agree_{i}" for i in range(len(rule.compare))]
    everything = ", ".join(left + right + agrees + ["l_present", "r_present"])
    only_left = ", ".join(left + [f"NULL AS {n}" for n in right] + [f"NULL AS {a}" for a in agrees]
                          + ["true AS l_present", "false AS r_present"])
    only_right = ", ".join([f"NULL AS {n}" for n in left] + right + [f"NULL AS {a}" for a in agrees]
                           + ["false AS l_present", "true AS r_present"])
    score = " + ".join(f"CAST({a} AS INTEGER)" for a in agrees) or "0"
    lw = ", ".join([f"l_k{i}" for i in range(len(rule.left.key))] + ["l_sha", "l_line"])
    rw = ", ".join([f"r_k{i}" for i in range(len(rule.left.key))] + ["r_sha", "r_line"])
    direct = f"""SELECT {everything}, CASE WHEN l_present AND r_present THEN 'match' WHEN l_present THEN 'left_orphan'
    ELSE 'right_orphan' END AS outcome
FROM _rc_j WHERE NOT (multi AND l_present AND r_present)"""
    if unique_pairs:
        return f"CREATE OR REPLACE TEMP TABLE _rc_resolved AS {direct}"
    return f"""
CREATE OR REPLACE TEMP TABLE _rc_resolved AS
WITH
g AS (SELECT *, {score} AS score FROM _rc_j WHERE multi AND l_present AND r_present),
s AS (SELECT *, max(score) OVER lw AS lbest, max(score) OVER rw AS rbest FROM g
      WINDOW lw AS (PARTITION BY {lw}), rw AS (PARTITION BY {rw})),
t AS (SELECT *, count(*) FILTER (WHERE score = lbest) OVER lw AS ln,
             count(*) FILTER (WHERE score = rbest) OVER rw AS rn FROM s
      WINDOW lw AS (PARTITION BY {lw}), rw AS (PARTITION BY {rw})),
u AS (SELECT *, score = lbest AND score = rbest AND ln = 1 AND rn = 1 AS matched FROM t),
v AS (SELECT *,
        bool_or(matched) OVER lw AS l_matched, bool_or(ln > 1 OR (score = rbest AND rn > 1)) OVER lw AS l_tied,
        bool_or(matched) OVER rw AS r_matched, bool_or(rn > 1 OR (score = lbest AND ln > 1)) OVER rw AS r_tied
      FROM u WINDOW lw AS (PARTITION BY {lw}), rw AS (PARTITION BY {rw}))
{direct}
UNION ALL
SELECT {everything}, 'match' AS outcome FROM v WHERE matched
UNION ALL
SELECT {only_left}, CASE WHEN l_tied THEN 'left_ambiguous' ELSE 'left_orphan' END AS outcome FROM (
    SELECT * FROM v WHERE NOT l_matched QUALIFY row_number() OVER (PARTITION BY {lw} ORDER BY {rw}) = 1)
UNION ALL
SELECT {only_right}, CASE WHEN r_tied THEN 'right_ambiguous' ELSE 'right_orphan' END AS outcome FROM (
    SELECT * FROM v WHERE NOT r_matched QUALIFY row_number() OVER (PARTITION BY {rw} ORDER BY {lw}) = 1)"""


def _key_sql(prefix: str, n_keys: int) -> str:
    parts = ", ".join(f"coalesce(CAST({prefix}_k{i} AS VARCHAR), '')" for i in range(n_keys))
    return f"CASE WHEN {prefix}_present THEN concat_ws('|', {parts}) END"


def _lineage_sql(prefix: str) -> str:
    # a row recomputed by seisan (a balance, an expiry) has no source line: NULL lineage columns give '[]'
    return (f"CAST(CASE WHEN NOT {prefix}_present THEN '[]' WHEN {prefix}_lin IS NOT NULL THEN to_json({prefix}_lin) "
            f"WHEN {prefix}_sha IS NULL THEN '[]' "
            f"ELSE to_json([{{'file_sha256': {prefix}_sha, 'line_number': {prefix}_line}}]) END AS VARCHAR)")


def _window_sql(window: Tolerance | None, date_column: str, day: str) -> tuple[str, str]:
    """(in_window, last pending date) SQL for a pending window from the row's date: pending while
    run_date < date + window, i.e. run_date <= the last pending date."""
    if window is None:
        return "false", "CAST(NULL AS DATE)"
    last = (f"CAST(CAST({date_column} AS TIMESTAMP) + INTERVAL '{window.value} {_UNIT_INTERVAL[window.unit]}' "
            f"- INTERVAL '1 MICROSECOND' AS DATE)")
    return f"({day} <= {last})", last


def _pair_findings_sql(rule: Rule, scope: Scope) -> str:
    """INSERT run_date's findings of a pair from _rc_resolved into _rc_findings: each resolved row gives a list of
    candidate findings (one per compared field of a matched pair, one for an orphan or an ambiguous row), NULL
    where it does not apply; the non-NULL ones are the findings. One SELECT, not a UNION per kind: the statement
    is planned on every run and its planning is most of its cost on a few hundred rows."""
    assert rule.right is not None and rule.left_orphan is not None and rule.right_orphan is not None
    n_keys = len(rule.left.key)
    candidates = []
    for i, compare in enumerate(rule.compare):
        yen = compare.tolerance is not None and compare.tolerance.unit == "yen"
        amount = (f"abs(CAST(l_c{i} AS BIGINT) - CAST(r_c{i} AS BIGINT))" if yen
                  else "greatest(abs(coalesce(l_a, 0)), abs(coalesce(r_a, 0)))")
        finding = _finding_struct(code=f"'{compare.break_code}'", status="'break'",
                                  business_date="coalesce(l_d, r_d)", municipality="coalesce(l_m, r_m)",
                                  expected=f"CAST(l_c{i} AS VARCHAR)", actual=f"CAST(r_c{i} AS VARCHAR)",
                                  amount=f"coalesce({amount}, 0)", pending_until="NULL")
        candidates.append(f"CASE WHEN outcome = 'match' AND NOT agree_{i} THEN {finding} END")
    for prefix, orphan in (("l", rule.left_orphan), ("r", rule.right_orphan)):
        in_window, last = _window_sql(orphan.window, f"{prefix}_d", scope.day)
        pending = f"({in_window} OR coalesce({prefix}_pw, false))"
        value = f"CAST({prefix}_a AS VARCHAR)"
        expected, actual = (value, "NULL") if prefix == "l" else ("NULL", value)
        side = "left" if prefix == "l" else "right"
        finding = _finding_struct(code=f"'{orphan.break_code}'",
                                  status=f"CASE WHEN {pending} THEN 'pending' ELSE 'break' END",
                                  business_date=f"{prefix}_d", municipality=f"{prefix}_m", expected=expected,
                                  actual=actual, amount=f"abs(coalesce({prefix}_a, 0))",
                                  pending_until=f"CASE WHEN {in_window} THEN {last} END")
        candidates.append(f"CASE WHEN outcome = '{side}_orphan' THEN {finding} END")
        finding = _finding_struct(code="'ambiguous_match'", status="'break'", business_date=f"{prefix}_d",
                                  municipality=f"{prefix}_m", expected=expected, actual=actual,
                                  amount=f"abs(coalesce({prefix}_a, 0))", pending_until="NULL")
        candidates.append(f"CASE WHEN outcome = '{side}_ambiguous' THEN {finding} END")
    listed = ",\n        ".join(candidates)
    return f"""
INSERT INTO _rc_findings
SELECT '{rule.pair}' AS pair, f.code AS break_code, f.status AS status, f.business_date AS business_date,
    f.municipality AS municipality_code, '{rule.left.source}' AS left_source, {_key_sql('l', n_keys)} AS left_key,
    '{rule.right.source}' AS right_source, {_key_sql('r', n_keys)} AS right_key, f.expected AS expected,
    f.actual AS actual, f.amount AS amount_at_risk_yen, f.pending_until AS pending_until,
    {_lineage_sql('l')} AS left_lineage, {_lineage_sql('r')} AS right_lineage
FROM (SELECT *, unnest([
        {listed}]) AS f FROM _rc_resolved)
WHERE f IS NOT NULL"""


def _finding_struct(**values: str) -> str:
    """One candidate finding as a struct of fixed field types (every candidate of the list has the same type)."""
    types = {"code": "VARCHAR", "status": "VARCHAR", "business_date": "DATE", "municipality": "VARCHAR",
             "expected": "VARCHAR", "actual": "VARCHAR", "amount": "BIGINT", "pending_until": "DATE"}
    return "{" + ", ".join(f"'{name}': CAST({values[name]} AS {kind})" for name, kind in types.items()) + "}"


def _summary_sql(rule: Rule, rows_sql: str) -> str:
    """INSERT the pair's rows of _rc_summary: rows_sql gives per municipality m: left_rows, right_rows,
    matched_pairs, matched_amount_yen; the finding counts come from _rc_findings."""
    return f"""
INSERT INTO _rc_summary
WITH counts AS ({rows_sql}),
f AS (SELECT municipality_code AS m, count(*) FILTER (WHERE status = 'break') AS breaks,
             coalesce(sum(amount_at_risk_yen) FILTER (WHERE status = 'break'), 0) AS break_amount_yen,
             count(*) FILTER (WHERE status = 'pending') AS pending,
             coalesce(sum(amount_at_risk_yen) FILTER (WHERE status = 'pending'), 0) AS pending_amount_yen
      FROM _rc_findings WHERE pair = '{rule.pair}' GROUP BY ALL)
SELECT '{rule.pair}' AS pair, coalesce(counts.m, f.m) AS municipality_code,
    coalesce(left_rows, 0), coalesce(right_rows, 0), coalesce(matched_pairs, 0), coalesce(matched_amount_yen, 0),
    coalesce(breaks, 0), coalesce(break_amount_yen, 0), coalesce(pending, 0), coalesce(pending_amount_yen, 0)
FROM counts FULL OUTER JOIN f ON counts.m IS NOT DISTINCT FROM f.m"""


# per municipality m and date d: left_rows, right_rows, matched_pairs, matched_amount_yen
_PAIR_DATE_COUNTS = """
SELECT m, d, sum(left_rows) AS left_rows, sum(right_rows) AS right_rows, sum(matched_pairs) AS matched_pairs,
    sum(matched_amount_yen) AS matched_amount_yen
FROM (
    SELECT m, d, n AS left_rows, 0 AS right_rows, n AS matched_pairs, amount AS matched_amount_yen
    FROM _rc_totals WHERE side = 'l'
    UNION ALL
    SELECT m, d, 0, n, 0, 0 FROM _rc_totals WHERE side = 'r'
    UNION ALL
    -- a left row is matched unless it is an orphan or ambiguous; a match counts under its left row's municipality
    -- and date
    SELECT l_m, l_d, 0, 0, -count(*), -coalesce(sum(l_a), 0) FROM _rc_resolved
    WHERE outcome IN ('left_orphan', 'left_ambiguous') GROUP BY ALL
) GROUP BY m, d"""


def _counts_by_municipality(dated_counts: str) -> str:
    """_summary_sql's rows_sql from per-date counts (m, d, left_rows, right_rows, matched_pairs,
    matched_amount_yen): their sums per municipality m."""
    return f"""
SELECT m, sum(left_rows) AS left_rows, sum(right_rows) AS right_rows, sum(matched_pairs) AS matched_pairs,
    sum(matched_amount_yen) AS matched_amount_yen
FROM ({dated_counts}) GROUP BY m"""


_PAIR_COUNTS = _counts_by_municipality(_PAIR_DATE_COUNTS)


def _reads(con: duckdb.DuckDBPyConnection, rule: Rule) -> _Reads:
    """Read a side's kept rows again by rowid when its relation is a table (a view has no rowid) with no column of
    that name, and the side is not summed per key."""
    assert rule.right is not None
    left, right = _has_rowid(con, rule.left.relation, rule.right.relation)
    return _Reads(left_rowid=rule.cardinality != "n:1" and left, right_rowid=rule.cardinality != "1:n" and right)


_CATALOG_SQL = """
SELECT 'table', schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() OR temporary
UNION ALL
SELECT 'view', schema_name, view_name FROM duckdb_views()
UNION ALL
SELECT 'rowid column', schema_name, table_name FROM duckdb_columns() WHERE lower(column_name) = 'rowid'"""


def _has_rowid(con: duckdb.DuckDBPyConnection, left: str, right: str) -> tuple[bool, bool]:
    """Per relation: a table of the current database (or temporary), not shadowed by a view, without a column
    named rowid -- so `rowid` is its row id."""
    found: dict[str, list[str]] = {}
    for kind, schema, name in con.execute(_CATALOG_SQL).fetchall():
        found.setdefault(f"{schema}.{name}", []).append(kind)
    return found.get(left) == ["table"], found.get(right) == ["table"]


def _run_pair(con: duckdb.DuckDBPyConnection, rule: Rule, scope: Scope) -> PairOutcome:
    reads = _reads(con, rule)
    steps = _keys_sql(rule, scope, reads)
    con.execute(steps.scan)
    row = con.execute("SELECT unique_pairs FROM _rc_scan").fetchone()
    unique = bool(row and row[0])
    for statement in steps.kept + (() if unique else steps.repeats):
        con.execute(statement)
    con.execute(_join_sql(rule, scope, reads, unique))
    con.execute(_totals_sql(rule, scope))
    con.execute(_resolve_sql(rule, unique))
    con.execute(_pair_findings_sql(rule, scope))
    if rule.changes is None:
        con.execute(_summary_sql(rule, _PAIR_COUNTS))
    else:
        _carry_and_count(con, rule, scope)
    matched = con.execute("SELECT coalesce(sum(matched_pairs), 0) FROM _rc_summary WHERE pair = ?",
                          [rule.pair]).fetchone()
    return _outcome(con, rule, matched[0] if matched else 0)


def _carry_and_count(con: duckdb.DuckDBPyConnection, rule: Rule, scope: Scope) -> None:
    """A pair with `changes`: carry the previous run's findings of the dates not matched now (none changed since
    it ran, and a finding depends only on its own date's rows: rules.py holds every such pair to that), replace
    the matched dates' counts in recon.pair_date_totals, and sum the summary from all its dates <= run_date."""
    if scope.dates is not None:
        con.execute(f"INSERT INTO _rc_findings SELECT {_FINDING_FIELDS} FROM recon.findings WHERE run_date = ? "
                    f"AND pair = ? AND NOT ({scope.where('business_date')})", [scope.since, rule.pair])
    con.execute(f"DELETE FROM recon.pair_date_totals WHERE pair = ? AND {scope.where('business_date')}", [rule.pair])
    con.execute(f"INSERT INTO recon.pair_date_totals SELECT '{rule.pair}', d, m, left_rows, right_rows, "
                f"matched_pairs, matched_amount_yen, {scope.day} FROM ({_PAIR_DATE_COUNTS})")
    con.execute(_summary_sql(rule, _counts_by_municipality(
        "SELECT municipality_code AS m, business_date AS d, left_rows, right_rows, matched_pairs, "
        f"matched_amount_yen FROM recon.pair_date_totals WHERE pair = '{rule.pair}' AND business_date <= {scope.day}")))


def _outcome(con: duckdb.DuckDBPyConnection, rule: Rule, matched: int) -> PairOutcome:
    row = con.execute("SELECT count(*) FILTER (WHERE status = 'break'), count(*) FILTER (WHERE status = 'pending') "
                      "FROM _rc_findings WHERE pair = ?", [rule.pair]).fetchone()
    breaks, pending = row if row else (0, 0)
    return PairOutcome(pair=rule.pair, kind=rule.kind, matched_pairs=matched, breaks=breaks, pending=pending)


# --- checks -----------------------------------------------------------------------------------------------------
def _relation_columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    return {column[0] for column in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}


def _check_findings_sql(rule: Rule, columns: set[str], day: str, relation: str) -> str:
    """INSERT a check's findings: every row of `relation` (a copy of the rule's relation, _run_check) in scope.
    Optional relation columns: break_code (when the rule has no fixed `break`), expected, actual, pending_until,
    right_key, right_lineage."""
    side = rule.left
    keys = ", ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in side.key)
    when = f"CAST({side.date} AS DATE)"
    in_window, last = _window_sql(rule.window, when, day)
    has = columns.__contains__
    column_pending = f"(pending_until IS NOT NULL AND {day} <= pending_until)" if has("pending_until") else "false"
    pending = f"({in_window} OR {column_pending} OR coalesce({side.pending_while or 'false'}, false))"
    until = (f"greatest(CASE WHEN {in_window} THEN {last} END"
             + (f", CASE WHEN {column_pending} THEN CAST(pending_until AS DATE) END)" if has("pending_until") else ")"))
    code = f"'{rule.break_code}'" if rule.break_code else "break_code"
    sha, line = side.lineage
    right_source = f"'{rule.right_source}'" if rule.right_source else "CAST(NULL AS VARCHAR)"
    return f"""
INSERT INTO _rc_findings
SELECT '{rule.pair}' AS pair, {code} AS break_code, CASE WHEN {pending} THEN 'pending' ELSE 'break' END AS status,
    {when} AS business_date, {side.municipality} AS municipality_code, '{side.source}' AS left_source,
    concat_ws('|', {keys}) AS left_key, {right_source} AS right_source,
    {'CAST(right_key AS VARCHAR)' if has('right_key') else 'CAST(NULL AS VARCHAR)'} AS right_key,
    {'CAST(expected AS VARCHAR)' if has('expected') else 'CAST(NULL AS VARCHAR)'} AS expected,
    {'CAST(actual AS VARCHAR)' if has('actual') else 'CAST(NULL AS VARCHAR)'} AS actual,
    CAST(abs(coalesce({side.amount}, 0)) AS BIGINT) AS amount_at_risk_yen,
    CASE WHEN {pending} THEN {until} END AS pending_until,
    CASE WHEN {sha} IS NULL THEN '[]'
        ELSE CAST(to_json([{{'file_sha256': {sha}, 'line_number': {line}}}]) AS VARCHAR) END AS left_lineage,
    {'CAST(right_lineage AS VARCHAR)' if has('right_lineage') else "'[]'"} AS right_lineage
FROM {relation} WHERE {when} <= {day}"""


def _run_check(con: duckdb.DuckDBPyConnection, rule: Rule, day: str) -> PairOutcome:
    side = rule.left
    # A check's relation is a view over the whole history (its rows are the findings, few): computed once into
    # a temporary table that the findings and the counts both read, instead of once for each.
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rc_check AS SELECT * FROM {side.relation} "
                f"WHERE CAST({side.date} AS DATE) <= {day}")
    columns = _relation_columns(con, "_rc_check")
    con.execute(_check_findings_sql(rule, columns, day, "_rc_check"))
    rows = (f"SELECT {side.municipality} AS m, count(*) AS left_rows, 0 AS right_rows, 0 AS matched_pairs, "
            f"0 AS matched_amount_yen FROM _rc_check GROUP BY ALL")
    con.execute(_summary_sql(rule, rows))
    con.execute("DROP TABLE _rc_check")
    return _outcome(con, rule, 0)


def compiled_sql(rule: Rule, run_date: date, con: duckdb.DuckDBPyConnection | None = None) -> dict[str, str]:
    """The SQL the engine runs for a pair rule on run_date, by step (keys, join, totals, resolve, findings): for
    reading, debugging and the tests that check exclusivity on `_rc_resolved`. Without con, kept rows are read
    again by key; with con, by rowid where the engine would (a table side, not summed)."""
    scope = Scope(_date_literal(run_date))
    reads = _reads(con, rule) if con is not None else _Reads()
    return {"keys": _keys_sql(rule, scope, reads).sql(), "join": _join_sql(rule, scope, reads),
            "totals": _totals_sql(rule, scope), "resolve": _resolve_sql(rule),
            "findings": _pair_findings_sql(rule, scope)}
