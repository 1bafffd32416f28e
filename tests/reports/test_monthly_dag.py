"""The monthly DAG: which month a run reports (hand-picked dates), and that the DAG file parses and stays thin."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pytest

from reports.monthly_figures import Month
from seisan.config import REPO_ROOT
from seisan.report_steps import month_of_run

DAG_FILE = REPO_ROOT / "dags" / "reports_monthly.py"


@pytest.mark.parametrize(("logical_utc", "expected"), [
    (dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC), Month(2026, 11)),   # 1 Dec 07:00 JST reports November
    (dt.datetime(2026, 11, 30, 14, 59, tzinfo=dt.UTC), Month(2026, 10)),  # still 30 Nov 23:59 JST
    (dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC), Month(2026, 12)),      # across the year
])
def test_a_run_reports_the_month_before_in_tokyo(logical_utc, expected) -> None:
    assert month_of_run({}, logical_utc) == expected


def test_the_month_param_wins_and_a_naive_time_is_refused() -> None:
    assert month_of_run({"month": "2027-03"}, dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)) == Month(2027, 3)
    with pytest.raises(ValueError, match="time zone"):
        month_of_run({}, dt.datetime(2026, 12, 1, 7, 0))


def test_dag_parses_with_one_task(tmp_path) -> None:
    script = textwrap.dedent(f"""
        import os
        os.environ.update(AIRFLOW_HOME={str(tmp_path)!r}, AIRFLOW__CORE__LOAD_EXAMPLES="False",
                          AIRFLOW__CORE__DAGS_FOLDER={str(DAG_FILE.parent)!r})
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(DAG_FILE)!r})
        assert not bag.import_errors, bag.import_errors
        print("ok", sorted(bag.dags["reports_monthly"].task_ids))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ok ['monthly']" in out.stdout
