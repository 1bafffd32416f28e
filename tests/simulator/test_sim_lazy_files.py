"""A simulated CSV file whose rows are made when needed (the platform's files): made once, counted without
being made, written to disk as the same bytes as in memory, streamed row by row when written, and forgotten
after writing; the balances and certificates they are made from stay compact until then."""

from __future__ import annotations

import base64
import datetime as dt
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from contracts import schemas as s
from simulator import outputs
from simulator.engine import JST, BalanceSnapshot
from simulator.outputs import CsvFile
from simulator.point_platform import BalanceRows, CertEvent
from simulator.signing import Signer

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


class _Row(dict):
    """A row that can be watched: how many are alive at once while a file is written."""

    __slots__ = ("__weakref__",)


def test_writing_streams_the_made_rows_one_at_a_time(tmp_path: Path) -> None:
    alive: list[int] = []
    most = [0]

    def make() -> Iterator[dict[str, str]]:
        for row in _balance_rows(200):
            watched = _Row(row)
            alive.append(1)
            weakref.finalize(watched, alive.pop)
            most[0] = max(most[0], len(alive))
            yield watched
            del watched

    f = CsvFile("platform/balances_20260401.csv", s.PLATFORM_BALANCES, DAY, make=make, count=200)
    f.write(tmp_path / "b.csv")
    assert most[0] <= 2  # the row being written, and at most the next (not 200 made first)
    assert (tmp_path / "b.csv").read_bytes() == CsvFile("x.csv", s.PLATFORM_BALANCES, DAY,
                                                        rows=_balance_rows(200)).data()
    assert f.row_count == 200


def _snapshot() -> BalanceSnapshot:
    snapshot = BalanceSnapshot()
    snapshot.extend("011002", "P1", ["A1", "K2"], [300, 0])
    snapshot.extend("131016", "P1", ["K1"], [50])
    return snapshot


def test_balance_rows_are_the_files_rows_and_a_changed_row_is_the_row_written(tmp_path: Path) -> None:
    expected = [{"municipality_code": "011002", "program_code": "P1", "mykey_id": "A1", "balance": "300"},
                {"municipality_code": "011002", "program_code": "P1", "mykey_id": "K2", "balance": "0"},
                {"municipality_code": "131016", "program_code": "P1", "mykey_id": "K1", "balance": "50"}]
    assert list(BalanceRows(_snapshot())) == expected
    rows = BalanceRows(_snapshot())
    assert len(rows) == 3 and bool(rows)
    drifted = rows[1]  # a fault picks a row by index (random.choice) and changes it
    drifted["balance"] = "10"
    assert next(r for r in rows if r["mykey_id"] == "K2") is drifted
    f = CsvFile("platform/balances_20260401.csv", s.PLATFORM_BALANCES, DAY, make=lambda: iter(rows), count=3)
    assert f.rows[1] is drifted  # a fault entry finds its line by this identity
    f.write(tmp_path / "b.csv")
    assert (tmp_path / "b.csv").read_text().splitlines()[2] == "011002,P1,K2,10"


def test_certificates_are_issued_a_round_at_a_time_as_their_file_is_written(monkeypatch, rounds_of) -> None:
    certs = [CertEvent(i, f"K{i}", 0xA00000000 + i, i % 2, "registered", None,
                       dt.datetime(2026, 4, 1, 7, i, tzinfo=JST), dt.date(2025, 1, 1), dt.date(2030, 1, 1))
             for i in range(5)]
    signer = Signer(seed=7, pool_size=2, workers=1)
    issue = signer.issue
    rounds = rounds_of(signer, "issue")
    monkeypatch.setattr(outputs, "CERTIFICATES_AT_ONCE", 2)
    rows = outputs._certificate_rows(certs, signer)
    first = next(rows)
    assert rounds == [2]  # nothing issued beyond the round being written
    rows = [first, *rows]
    assert rounds == [2, 2, 1]
    ders = issue([(c.serial, c.key_index, c.not_before, c.not_after) for c in certs])  # all at once
    assert [r["cert_der"] for r in rows] == ders
    assert [r["cert_serial"] for r in rows] == [f"{0xA00000000 + i:x}" for i in range(5)]
    assert rows[0]["event_ts"] == "2026-04-01T07:00:00+09:00" and rows[0]["previous_serial"] == ""
    issued = x509.load_der_x509_certificate(base64.b64decode(rows[3]["cert_der"]))
    assert issued.serial_number == 0xA00000003
    assert issued.public_key().public_numbers() == signer.cards[1].public_key().public_numbers()
