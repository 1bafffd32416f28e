"""Partner rows quarantined for an unknown reference are released when a later master snapshot in force on
their date names it (FORMATS.md "References not known yet"; ingestion.release): loaded once with their
original lineage, the quarantine row kept and marked by raw.quarantine_releases, the accounting per file
intact. Expected values are worked out by hand from the in-force rule (newest snapshot on or before the
row's date)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingestion_builders import (
    MERCHANT,
    OTHER_MUNI,
    D,
    accounting_holds,
    all_tables,
    csv_of,
    merchant_row,
    municipality_row,
    run,
    sale_row,
    write,
    write_masters,
    ymd,
)

SALES = "partner/ACME/ACME_sales_20261125.csv"
LATER_SALES = "partner/ACME/ACME_sales_20261126.csv"


def _merchants(inbox, day: str, ids: list[str]) -> None:
    write(inbox, f"master/merchants_{day}.csv", csv_of("master_merchants", [merchant_row(i) for i in ids]))


def _sales(con) -> list[tuple[str, int, str]]:
    return con.execute(
        "SELECT order_id, line_number, file_sha256 FROM raw.partner_sales ORDER BY order_id"
    ).fetchall()


def _open_quarantine(con, path: str) -> list[tuple[int, str]]:
    return con.execute(
        "SELECT q.line_number, q.reason_code FROM raw.quarantine q WHERE q.path = ? AND NOT EXISTS "
        "(SELECT 1 FROM raw.quarantine_releases r WHERE r.file_sha256 = q.file_sha256 "
        "AND r.line_number = q.line_number) ORDER BY 1, 2",
        [path],
    ).fetchall()


def _file_identity_holds(con, path: str) -> bool:
    """Per file: raw rows = the loaded evaluation's rows_loaded + released; open quarantine = quarantined -
    released; rows_read = all of them."""
    (sha, read, loaded, quarantined), = con.execute(
        "SELECT file_sha256, rows_read, rows_loaded, rows_quarantined FROM raw.file_manifest "
        "WHERE path = ? AND status = 'loaded'",
        [path],
    ).fetchall()
    (released,) = con.execute(
        "SELECT coalesce(sum(rows_released), 0) FROM raw.file_manifest WHERE path = ? AND status = 'released'",
        [path],
    ).fetchone()
    (in_raw,) = con.execute("SELECT count(*) FROM raw.partner_sales WHERE file_sha256 = ?", [sha]).fetchone()
    return (
        in_raw == loaded + released
        and len(_open_quarantine(con, path)) == quarantined - released
        and read == in_raw + len(_open_quarantine(con, path))
    )


def test_late_masters_release_held_partner_rows_once(con, tmp):
    inbox = tmp / "inbox"
    rows = [
        sale_row(order_id="O1"),  # line 2: known
        sale_row(order_id="O2", merchant_id="M00000002"),  # line 3: merchant unknown
        sale_row(order_id="O3", municipality_code=OTHER_MUNI),  # line 4: municipality unknown
        sale_row(order_id="O4", merchant_id="M00000003"),  # line 5: merchant unknown
    ]
    write(inbox, SALES, csv_of("partner_sales", rows))
    run(con, tmp)
    (sha,) = con.execute("SELECT file_sha256 FROM raw.file_manifest WHERE path = ?", [SALES]).fetchone()
    assert _sales(con) == [("O1", 2, sha)]
    assert _open_quarantine(con, SALES) == [(3, "merchant_unknown"), (4, "municipality_unknown"),
                                           (5, "merchant_unknown")]

    # A merchants snapshot of 11-20 (in force on 11-25) names M00000002; one of 11-30 names M00000003, but it
    # is not in force on the row's date: only O2 is released.
    _merchants(inbox, "20261120", [MERCHANT, "M00000002"])
    _merchants(inbox, "20261130", [MERCHANT, "M00000002", "M00000003"])
    summary = run(con, tmp, dt.date(2026, 11, 30))
    assert summary.rows_released == {"partner_sales": 1}
    assert _sales(con) == [("O1", 2, sha), ("O2", 3, sha)]  # the original lineage
    assert _open_quarantine(con, SALES) == [(4, "municipality_unknown"), (5, "merchant_unknown")]
    assert con.execute("SELECT count(*) FROM raw.quarantine WHERE path = ?", [SALES]).fetchone() == (3,)
    assert con.execute(
        "SELECT status, rows_read, rows_loaded, rows_quarantined, rows_released FROM raw.file_manifest "
        "WHERE path = ? ORDER BY ingested_at", [SALES]
    ).fetchall() == [("loaded", 4, 1, 3, 0), ("released", 0, 1, 0, 1)]
    assert accounting_holds(con) and _file_identity_holds(con, SALES)

    before = all_tables(con)
    run(con, tmp, dt.date(2026, 11, 30))  # nothing new: nothing released twice, no table changes
    assert all_tables(con) == before

    # The municipalities snapshot of 11-24 names OTHER_MUNI -> O3 released. The partner re-sends O4 in a new
    # file while a merchants snapshot of 11-24 names M00000003: the new file loads O4, so the held O4 is not
    # loaded a second time and stays quarantined (its key is loaded).
    write(inbox, "master/municipalities_20261124.csv",
          csv_of("master_municipalities", [municipality_row(), municipality_row(municipality_code=OTHER_MUNI)]))
    _merchants(inbox, "20261124", [MERCHANT, "M00000002", "M00000003"])
    write(inbox, LATER_SALES, csv_of("partner_sales", [sale_row(order_id="O4", merchant_id="M00000003")]))
    run(con, tmp, dt.date(2026, 11, 30))
    later_sha = con.execute("SELECT file_sha256 FROM raw.file_manifest WHERE path = ?", [LATER_SALES]).fetchone()[0]
    assert _sales(con) == [("O1", 2, sha), ("O2", 3, sha), ("O3", 4, sha), ("O4", 2, later_sha)]
    assert _open_quarantine(con, SALES) == [(5, "merchant_unknown")]
    assert accounting_holds(con) and _file_identity_holds(con, SALES)
    assert D == dt.date(2026, 11, 25)  # the rows' date the expectations above were worked out for


def test_a_held_row_stays_when_its_file_changed_in_the_inbox(con, tmp):
    inbox = tmp / "inbox"
    write(inbox, SALES, csv_of("partner_sales", [sale_row(order_id="O2", merchant_id="M00000002")]))
    run(con, tmp)
    write(inbox, SALES, csv_of("partner_sales", [sale_row(order_id="O9", merchant_id="M00000002")]))
    _merchants(inbox, "20261120", [MERCHANT, "M00000002"])
    run(con, tmp)
    assert _sales(con) == []  # other bytes under that path: no lineage to release from
    # the original's held row stays open; the changed file is a conflict, quarantined whole
    assert _open_quarantine(con, SALES) == [(2, "file_conflicting_duplicate"), (2, "merchant_unknown")]


# --- property: random late merchants snapshots against a reference model ---------------------------------
_POOL = ("M00000001", "M00000002", "M00000003", "M00000004")
_RUN = st.tuples(
    st.one_of(st.none(), st.tuples(st.integers(0, 29), st.sets(st.sampled_from(_POOL), min_size=1))),
    st.lists(st.sampled_from(_POOL), max_size=4),
)


def _known(snapshots: dict[dt.date, frozenset[str]], merchant: str, on: dt.date) -> bool:
    """The model: the merchant is in the newest snapshot on or before `on` (written out, not imported)."""
    dates = [d for d in snapshots if d <= on]
    return bool(dates) and merchant in snapshots[max(dates)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RUN, min_size=1, max_size=4))
def test_held_rows_load_exactly_when_a_snapshot_in_force_on_their_date_names_them(runs):
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        write_masters(home / "inbox")
        snapshots = {dt.date(2026, 11, 1): frozenset({MERCHANT})}
        rows: dict[str, tuple[str, dt.date]] = {}  # order id -> (merchant, row date)
        expected: set[str] = set()
        con = duckdb.connect(":memory:")
        try:
            for index, (snapshot, merchants) in enumerate(runs):
                day = D + dt.timedelta(days=index)
                if snapshot is not None:
                    snap_day = dt.date(2026, 11, 1) + dt.timedelta(days=snapshot[0])
                    if snap_day <= day and snap_day not in snapshots:
                        snapshots[snap_day] = frozenset(snapshot[1])
                        _merchants(home / "inbox", ymd(snap_day), sorted(snapshot[1]))
                sales = [
                    sale_row(order_id=f"O{index}x{i}", merchant_id=m, order_ts=f"{day.isoformat()}T12:00:00+09:00")
                    for i, m in enumerate(merchants)
                ]
                rows |= {s["order_id"]: (s["merchant_id"], day) for s in sales}
                if sales:
                    write(home / "inbox", f"partner/ACME/ACME_sales_{ymd(day)}.csv", csv_of("partner_sales", sales))
                run(con, home, day)
                expected |= {o for o, (m, on) in rows.items() if _known(snapshots, m, on)}
                loaded = con.execute("SELECT order_id FROM raw.partner_sales").fetchall()
                assert sorted(o for (o,) in loaded) == sorted(expected)  # each once, exactly the known ones
                assert accounting_holds(con)
        finally:
            con.close()
