"""The hash chain of audit.step_runs: the documented serialisation (hashed here independently), the in-place
migration of a log written before the chain, and verify naming each edited, deleted or inserted row."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pytest

from audit import GENESIS_HASH, StepRun, ensure_step_runs, record_step_run
from audit.verify import verify_audit

D = dt.date(2026, 11, 2)
T0 = dt.datetime(2026, 11, 2, 21, 0, 0, 250000, tzinfo=dt.UTC)
LEGACY_DDL = """
create schema audit;
create table audit.step_runs (business_date date not null, step varchar not null, started_at timestamptz not null,
    finished_at timestamptz not null, seconds double not null, summary json)
"""


def _run(step: str, offset_seconds: int, summary: dict | None = None) -> StepRun:
    start = T0 + dt.timedelta(seconds=offset_seconds)
    return StepRun(D, step, start, start + dt.timedelta(seconds=1.5), summary or {})


def _log(con, steps=("ingest", "build_marts", "quality", "reconcile")) -> None:
    for i, step in enumerate(steps):
        record_step_run(con, _run(step, 10 * i, {"n": i}))


def _sentences(con, tmp_path) -> list[str]:
    return [p.sentence for p in verify_audit(con, tmp_path).problems]


def test_the_first_row_hashes_as_documented() -> None:
    """docs/audit.md: sha256 of the sorted, compact JSON of table, seq, fields (UTC ISO times) and prev_hash."""
    with duckdb.connect() as con:
        record_step_run(con, StepRun(D, "ingest", T0, T0 + dt.timedelta(seconds=12.5), {"files": 3, "名前": "ｶﾅ"}))
        seq, prev, digest = con.execute("select seq, prev_hash, row_hash from audit.step_runs").fetchone()
    text = ('{"business_date":"2026-11-02","finished_at":"2026-11-02T21:00:12.750000+00:00",'
            '"prev_hash":"' + "0" * 64 + '","seconds":12.5,"seq":1,"started_at":"2026-11-02T21:00:00.250000+00:00",'
            '"step":"ingest","summary":"{\\"files\\": 3, \\"名前\\": \\"ｶﾅ\\"}","table":"audit.step_runs"}')
    assert (seq, prev) == (1, GENESIS_HASH)
    assert digest == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_each_row_chains_from_the_one_before(tmp_path) -> None:
    with duckdb.connect() as con:
        _log(con)
        rows = con.execute("select seq, prev_hash, row_hash from audit.step_runs order by seq").fetchall()
        check = verify_audit(con, tmp_path)
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert [r[1] for r in rows[1:]] == [r[2] for r in rows[:-1]]
    assert check.ok and (check.step_runs_head.seq, check.step_runs_head.row_hash) == (4, rows[-1][2])


def test_a_log_written_before_the_chain_is_chained_in_insertion_order_deterministically(tmp_path) -> None:
    heads = []
    for _ in range(2):
        with duckdb.connect() as con:
            con.execute(LEGACY_DDL)
            for i, step in enumerate(("ingest", "build_marts", "ingest")):  # insertion order, not time order
                run = _run(step, 100 - 10 * i, {"i": i})
                con.execute("insert into audit.step_runs values (?, ?, ?, ?, ?, ?)",
                            [run.business_date, run.step, run.started_at, run.finished_at, run.seconds,
                             json.dumps(run.summary)])
            assert [p.code for p in verify_audit(con, tmp_path).problems] == ["chain_missing"]
            assert ensure_step_runs(con) == 3
            record_step_run(con, _run("quality", 500))
            rows = con.execute("select seq, summary, row_hash from audit.step_runs order by seq").fetchall()
            assert verify_audit(con, tmp_path).ok
            heads.append(rows)
    assert [(seq, summary) for seq, summary, _ in heads[0]] == [(1, '{"i": 0}'), (2, '{"i": 1}'), (3, '{"i": 2}'),
                                                                 (4, "{}")]
    assert heads[0] == heads[1]


@pytest.mark.parametrize("statement, code, named", [
    ("update audit.step_runs set seconds = 99 where step = 'build_marts'", "row_edited",
     "audit.step_runs row seq 2 (step build_marts, business_date 2026-11-02, started_at 2026-11-02T21:00:10"),
    ("update audit.step_runs set summary = '{\"n\": 7}' where step = 'quality'", "row_edited", "seq 3 (step quality"),
    ("delete from audit.step_runs where seq = 2", "rows_deleted",
     "row seq 2 was deleted: the chain breaks between seq 1 and seq 3"),
    ("delete from audit.step_runs where seq in (1, 2)", "rows_deleted", "between the genesis and seq 3"),
    ("insert into audit.step_runs (business_date, step, started_at, finished_at, seconds) "
     "values (date '2026-11-02', 'gate', now(), now(), 0)", "row_inserted",
     "inserted outside the audit log (step gate"),
    ("insert into audit.step_runs select * replace ('gate' as step) from audit.step_runs where seq = 2",
     "row_inserted", "seq 2 appears twice"),
])
def test_verify_names_each_edited_deleted_or_inserted_row(tmp_path, statement, code, named) -> None:
    with duckdb.connect() as con:
        _log(con)
        assert _sentences(con, tmp_path) == []
        con.execute(statement)
        problems = verify_audit(con, tmp_path).problems
    assert [p.code for p in problems] == [code], problems
    assert named in problems[0].sentence


def test_a_rewritten_tail_is_caught_by_the_head_noted_earlier(tmp_path) -> None:
    """Recomputing every hash after an edit passes the chain check; the head noted before does not match."""
    from audit.chain import GENESIS_HASH as GENESIS
    from audit.chain import row_hash
    from audit.step_runs import STEP_RUNS

    with duckdb.connect() as con:
        _log(con)
        noted = verify_audit(con, tmp_path).step_runs_head
        con.execute("update audit.step_runs set seconds = 0")
        prev = GENESIS
        for seq, *values in con.execute("select seq, business_date, step, started_at, finished_at, seconds, summary "
                                        "from audit.step_runs order by seq").fetchall():
            fields = {"seq": seq, **dict(zip(STEP_RUNS.fields, values, strict=True))}
            digest = row_hash(STEP_RUNS.name, fields, prev)
            con.execute("update audit.step_runs set prev_hash = ?, row_hash = ? where seq = ?", [prev, digest, seq])
            prev = digest
        assert verify_audit(con, tmp_path).ok
        check = verify_audit(con, tmp_path, expect_heads={"audit.step_runs": f"{noted.seq}:{noted.row_hash}"})
    assert [p.code for p in check.problems] == ["anchor_lost"]
