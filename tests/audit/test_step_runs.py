"""audit.step_runs: appended per step run, read back as the latest seconds per step."""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from audit import StepRun, latest_step_seconds, record_step_run

D = dt.date(2026, 11, 2)
T0 = dt.datetime(2026, 11, 2, 21, 0, tzinfo=dt.UTC)


def test_rows_are_appended_and_the_latest_run_of_each_step_is_read_back() -> None:
    with duckdb.connect() as con:
        assert latest_step_seconds(con, D) == {}  # no table yet: nothing ran
        record_step_run(con, StepRun(D, "ingest", T0, T0 + dt.timedelta(seconds=12.5), {"files": 3, "名前": "ｶﾅ"}))
        record_step_run(con, StepRun(D, "ingest", T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=1, seconds=2),
                                     {"files": 0}))
        record_step_run(con, StepRun(D, "build_marts", T0, T0 + dt.timedelta(minutes=1), {}))
        record_step_run(con, StepRun(D + dt.timedelta(days=1), "ingest", T0, T0 + dt.timedelta(seconds=99), {}))
        assert latest_step_seconds(con, D) == {"ingest": 2.0, "build_marts": 60.0}
        rows = con.execute("select step, seconds, summary from audit.step_runs where business_date = ? "
                           "order by started_at, step", [D]).fetchall()
    assert rows[0][:2] == ("build_marts", 60.0)
    assert json.loads(rows[1][2]) == {"files": 3, "名前": "ｶﾅ"}
    assert len(rows) == 3
