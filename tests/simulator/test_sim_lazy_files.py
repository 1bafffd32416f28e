"""A simulated CSV file whose rows are made when first needed (the platform's files): made once, counted
without being made, written to disk as the same bytes as in memory, and forgotten after writing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from contracts import schemas as s
from simulator.outputs import CsvFile

DAY = dt.date(2026, 4, 1)


def _balance_rows(n: int) -> list[dict[str, str]]:
    return [{"municipality_code": "131016", "program_code": f"P{i}", "mykey_id": f"K,{i}", "balance": str(i * 7)}
            for i in range(n)]


def test_rows_are_made_once_and_counted_without_being_made() -> None:
    calls: list[int] = []

    def make() -> list[dict[str, str]]:
        calls.append(1)
        return _balance_rows(3)

    f = CsvFile("platform/balances_20260401.csv", s.PLATFORM_BALANCES, DAY, make=make, count=3)
    assert f.row_count == 3
    assert calls == []
    f.rows.append({"municipality_code": "131016", "program_code": "X", "mykey_id": "K", "balance": "1"})
    assert f.row_count == 4  # a fault's extra row counts
    assert len(f.rows) == 4
    assert calls == [1]
    f.release()
    assert f.row_count == 4  # the extra row still counts once the rows are gone


def test_a_file_written_to_disk_has_the_bytes_of_data_and_its_rows_go_after(tmp_path: Path) -> None:
    rows = _balance_rows(5)
    rows[2]["mykey_id"] = 'quote " and\nnewline 千代田'
    f = CsvFile("platform/balances_20260401.csv", s.PLATFORM_BALANCES, DAY, make=lambda: [dict(r) for r in rows],
                count=5, encoding="cp932")
    expected = f.data()
    f.write(tmp_path / "b.csv")
    assert (tmp_path / "b.csv").read_bytes() == expected
    assert expected.decode("cp932").count("\n") == 1 + 5 + 1  # header, rows, the newline inside a field
    f.release()
    assert f.row_count == 5
    with pytest.raises(AssertionError, match="released"):
        _ = f.rows


def test_a_file_has_rows_or_a_way_to_make_them() -> None:
    with pytest.raises(ValueError, match="not both"):
        CsvFile("p.csv", s.PLATFORM_BALANCES, DAY, rows=[], make=list)
    with pytest.raises(ValueError, match="not both"):
        CsvFile("p.csv", s.PLATFORM_BALANCES, DAY)
