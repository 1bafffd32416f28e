"""The DAG payments_approval parses, holds no business logic, and waits on Airflow's human-in-the-loop operator
between prepare and export (dags/payments_approval.py)."""

from __future__ import annotations

import ast
import datetime as dt
import subprocess
import sys
import textwrap

from seisan.config import REPO_ROOT

DAG_FILE = REPO_ROOT / "dags" / "payments_approval.py"


def test_dag_file_is_thin():
    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    imports = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    imports |= {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    # the HITL operator lives in the standard provider, not in airflow.sdk
    assert imports <= {"__future__", "datetime", "pendulum", "airflow.sdk",
                       "airflow.providers.standard.operators.hitl"}, imports
    assert ast.get_docstring(tree)


def test_settlement_daily_updates_the_asset_payments_approval_runs_on():
    daily = (DAG_FILE.parent / "settlement_daily.py").read_text(encoding="utf-8")
    uri = 'Asset("seisan://settlement_daily/report")'
    assert uri in daily and uri in DAG_FILE.read_text(encoding="utf-8")
    assert "@task(outlets=[SETTLEMENT_DONE])\n    def report(" in daily


def test_dag_parses_with_prepare_hitl_approval_export(tmp_path):
    script = textwrap.dedent(f"""
        import os
        os.environ.update(AIRFLOW_HOME={str(tmp_path)!r}, AIRFLOW__CORE__LOAD_EXAMPLES="False",
                          AIRFLOW__CORE__DAGS_FOLDER={str(DAG_FILE.parent)!r})
        from airflow.dag_processing.dagbag import DagBag
        from airflow.providers.standard.operators.hitl import HITLOperator
        bag = DagBag(dag_folder={str(DAG_FILE)!r})
        assert not bag.import_errors, bag.import_errors
        dag = bag.dags["payments_approval"]
        approve = dag.get_task("approve")
        assert issubclass(approve.operator_class, HITLOperator), approve.operator_class
        assert approve.partial_kwargs["options"] == ["Approve", "Reject"]
        assert approve.partial_kwargs["defaults"] == ["Reject"]
        assert dag.get_task("prepare").downstream_task_ids == {{"approve", "export"}}
        assert dag.get_task("export").upstream_task_ids == {{"prepare", "approve"}}
        print("ok", sorted(dag.task_ids))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ok ['approve', 'export', 'prepare']" in out.stdout


def test_business_date_comes_from_the_param_then_the_asset_event():
    from seisan.payments_file_steps import business_date_for_payments

    class Event:
        extra = {"business_date": "2026-11-30"}

    events = {"seisan://settlement_daily/report": [Event()]}
    assert business_date_for_payments({"business_date": "2026-11-29"}, None, events) == dt.date(2026, 11, 29)
    assert business_date_for_payments({}, None, events) == dt.date(2026, 11, 30)
    logical = dt.datetime(2026, 12, 1, 21, 0, tzinfo=dt.UTC)  # 06:00 JST on 2 Dec settles 1 Dec
    assert business_date_for_payments({}, logical, {}) == dt.date(2026, 12, 1)
