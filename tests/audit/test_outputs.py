"""audit.outputs: one row per version of a written file (identical rewrites record nothing), removed files of a
recorded folder marked, and verify naming a changed or missing output."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from audit import record_outputs
from audit.verify import verify_audit

D = dt.date(2026, 11, 2)
NOW = dt.datetime(2026, 11, 3, 0, 0, tzinfo=dt.UTC)


def _record(con, paths, home: Path, kind: str = "daily_report"):
    return record_outputs(con, paths, kind=kind, business_date=D, base_dir=home, step="report", now=NOW)


def test_a_file_is_recorded_once_per_version(tmp_path: Path) -> None:
    report = tmp_path / "out" / "2026-11-02" / "reconciliation-2026-11-02.html"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"<p>day one</p>")
    with duckdb.connect() as con:
        first = _record(con, [report], tmp_path)
        again = _record(con, [report], tmp_path)  # the same bytes written again: nothing new
        report.write_bytes(b"<p>day one, corrected</p>")
        changed = _record(con, [report], tmp_path)
        rows = con.execute("select seq, path, kind, business_date, sha256, bytes, step from audit.outputs "
                           "order by seq").fetchall()
    assert (len(first), again, len(changed)) == (1, [], 1)
    assert rows == [
        (1, "out/2026-11-02/reconciliation-2026-11-02.html", "daily_report", D,
         hashlib.sha256(b"<p>day one</p>").hexdigest(), 14, "report"),
        (2, "out/2026-11-02/reconciliation-2026-11-02.html", "daily_report", D,
         hashlib.sha256(b"<p>day one, corrected</p>").hexdigest(), 25, "report")]


def test_a_folder_is_each_file_under_it_and_a_file_gone_from_it_is_marked_removed(tmp_path: Path) -> None:
    docs = tmp_path / "out" / "2026-11-02" / "data-docs"
    (docs / "gx").mkdir(parents=True)
    (docs / "index.html").write_text("index")
    (docs / "gx" / "suite.html").write_text("suite")
    (docs / ".lock").write_text("never recorded")
    with duckdb.connect() as con:
        recorded = _record(con, [docs], tmp_path, "data_docs")
        (docs / "gx" / "suite.html").unlink()  # a re-render without that page
        removed = _record(con, [docs], tmp_path, "data_docs")
        check = verify_audit(con, tmp_path)
    assert [r.path for r in recorded] == ["out/2026-11-02/data-docs/gx/suite.html",
                                          "out/2026-11-02/data-docs/index.html"]
    assert [(r.path, r.sha256) for r in removed] == [("out/2026-11-02/data-docs/gx/suite.html", None)]
    assert check.ok and check.outputs_checked == 1


def test_verify_names_an_output_edited_by_one_byte_or_missing(tmp_path: Path) -> None:
    out = tmp_path / "out" / "2026-11-02"
    out.mkdir(parents=True)
    (out / "breaks-2026-11-02.csv").write_bytes(b"break_id\nBRK-1\n")
    (out / "payment.txt").write_bytes(b"1" * 120)
    with duckdb.connect() as con:
        _record(con, [out / "breaks-2026-11-02.csv"], tmp_path, "breaks_csv")
        _record(con, [out / "payment.txt"], tmp_path, "payment_file")
        assert verify_audit(con, tmp_path).ok
        (out / "breaks-2026-11-02.csv").write_bytes(b"break_id\nBRK-2\n")
        (out / "payment.txt").unlink()
        problems = verify_audit(con, tmp_path).problems
    assert [p.code for p in problems] == ["output_changed", "output_missing"]
    assert problems[0].sentence.startswith("output out/2026-11-02/breaks-2026-11-02.csv (breaks_csv of 2026-11-02) "
                                           "was changed after it was recorded")
    assert problems[1].sentence.startswith("output out/2026-11-02/payment.txt (payment_file of 2026-11-02, "
                                           "recorded as seq 2) is missing")


def test_an_edited_outputs_row_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("a")
    with duckdb.connect() as con:
        _record(con, [tmp_path / "a.csv"], tmp_path)
        digest = hashlib.sha256(b"forged").hexdigest()
        con.execute("update audit.outputs set sha256 = ?", [digest])
        (tmp_path / "a.csv").write_text("forged")  # the file replaced and its row made to match
        problems = verify_audit(con, tmp_path).problems
    assert [p.code for p in problems] == ["row_edited"]
    assert "audit.outputs row seq 1 (path a.csv, kind daily_report, business_date 2026-11-02) was edited" in \
        problems[0].sentence
