"""Property: after any sequence of deliveries and runs (new files, redeliveries, conflicting contents, terminal
uploads out of order, a partner file that waits for its master, files of no known kind, runs for earlier and
later dates), the Parquet copy equals the warehouse (verify_mirror) and every evaluation is accounted for."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_world import D, builders

from ingestion import ingest
from ingestion.mirror import verify_mirror

DAYS = [D - dt.timedelta(days=1), D, D + dt.timedelta(days=1)]
ACTION = st.one_of(
    st.tuples(st.just("ledger"), st.sampled_from(DAYS), st.lists(st.integers(0, 6), min_size=1, max_size=4)),
    st.tuples(st.just("conflict"), st.sampled_from(DAYS), st.integers(1, 5)),
    st.tuples(st.just("redeliver"), st.just(None), st.integers(0, 5)),
    st.tuples(st.just("terminal"), st.sampled_from([1, 2, 3]), st.just(0)),
    st.tuples(st.just("zzz"), st.sampled_from(DAYS), st.just(0)),
    st.tuples(st.just("zzz_master"), st.just(D), st.just(0)),
    st.tuples(st.just("unknown"), st.sampled_from(DAYS), st.integers(0, 3)),
)
STEP = st.tuples(ACTION, st.sampled_from([None, *DAYS]))  # an action, then maybe a run for that date
_UPLOADS: dict[int, list] = {}


def _uploads() -> dict[int, list]:
    if not _UPLOADS:
        first = builders.terminal_records(1, 2, builders.terminal_log.GENESIS_HASH)
        middle = builders.terminal_records(4, 2, first[-1]["hash"])
        _UPLOADS.update({1: first, 2: middle, 3: builders.terminal_records(7, 2, middle[-1]["hash"])})
    return _UPLOADS


def _apply(inbox: Path, action: tuple, step: int) -> None:
    what, value, extra = action
    ymd = value.strftime("%Y%m%d") if isinstance(value, dt.date) else ""
    if what == "ledger":
        builders.write_ledger(inbox, [builders.ledger_row(f"E{i}", value) for i in extra], value)
    elif what == "conflict":
        builders.write_ledger(inbox, [builders.ledger_row("C", value, amount=str(100 + extra + step))], value)
    elif what == "redeliver":  # the same bytes again, with a new mtime
        ledgers = sorted((inbox / "platform").glob("ledger_*.csv"))
        if ledgers:
            os.utime(ledgers[extra % len(ledgers)], ns=(step * 1_000_000_007, step * 1_000_000_007))
    elif what == "terminal":
        builders.write_terminal(inbox, _uploads()[value], value)
    elif what == "zzz":
        sale = builders.sale_row(order_ts=f"{value.isoformat()}T12:00:00+09:00")
        builders.write(inbox, f"partner/ZZZ/ZZZ_sales_{ymd}.csv", builders.csv_of("partner_sales", [sale]))
    elif what == "zzz_master":
        rows = [dict(partner_code="ZZZ", name="Zed", kind="retail", encoding="utf-8", payer_name_kana="ｾﾞﾂﾄ")]
        builders.write(inbox, "master/partners_20261102.csv", builders.csv_of("master_partners", rows))
    elif what == "unknown":
        builders.write(inbox, f"platform/other_{ymd}_{extra}.txt", b"x" * extra)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=6))
def test_any_sequence_of_runs_keeps_the_mirror_equal_to_the_warehouse(steps):
    root = Path(tempfile.mkdtemp(prefix="store-mirror-prop-"))
    try:
        inbox = root / "inbox"
        builders.write_masters(inbox)
        builders.write_certs(inbox, [builders.cert_row()])
        with duckdb.connect(":memory:") as con:
            for number, (action, run_date) in enumerate([*steps, (None, max(DAYS))], start=1):
                if action is not None:
                    _apply(inbox, action, number)
                if run_date is None:
                    continue
                ingest(con, inbox, root / "raw", run_date)
                report = verify_mirror(con, root / "raw")
                assert report.ok, report
                assert builders.accounting_holds(con)
    finally:
        shutil.rmtree(root)
