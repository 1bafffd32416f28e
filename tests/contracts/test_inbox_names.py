"""Inbox file names: every kind's formatter writes what its pattern reads back, and nothing else matches."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.inbox_names import BANK_KIND, NAMES, NAMES_BY_KIND, TERMINAL_KIND, inbox_path, match_path
from contracts.limits import BUSINESS_DATE_MAX, BUSINESS_DATE_MIN
from contracts.schemas import CSV_KINDS

D = dt.date(2026, 11, 25)
PARTS = {
    "partner": st.from_regex(r"[A-Z][A-Z0-9]{2,9}", fullmatch=True),
    "terminal": st.from_regex(r"T[0-9]{8}", fullmatch=True),
    "upload": st.integers(1, 9999),
    "bank": st.from_regex(r"[0-9]{4}", fullmatch=True),
    "branch": st.from_regex(r"[0-9]{3}", fullmatch=True),
    "account": st.from_regex(r"[0-9]{7}", fullmatch=True),
}


def test_every_kind_has_one_name() -> None:
    assert {n.kind for n in NAMES} == {k.name for k in CSV_KINDS} | {TERMINAL_KIND, BANK_KIND}
    assert len(NAMES) == len(NAMES_BY_KIND)


@pytest.mark.parametrize(
    ("kind", "parts", "path"),
    [
        ("master_municipalities", {}, "master/municipalities_20261125.csv"),
        ("master_fee_schedule", {}, "master/fee_schedule_20261125.csv"),
        ("platform_mykey_certs", {}, "platform/mykey_certs_20261125.csv"),
        ("partner_sales", {"partner": "MALL1"}, "partner/MALL1/MALL1_sales_20261125.csv"),
        (TERMINAL_KIND, {"terminal": "T00000001", "upload": 2}, "terminal/T00000001/T00000001_20261125_0002.jsonl"),
        (BANK_KIND, {"bank": "0001", "branch": "002", "account": "1234567"}, "bank/0001/0001_002_1234567_20261125.txt"),
    ],
)
def test_formatters_by_hand(kind: str, parts: dict[str, object], path: str) -> None:
    assert inbox_path(kind, D, **parts) == path
    found = match_path(tuple(path.split("/")))
    assert found is not None and (found.kind, found.business_date) == (kind, D)


@given(
    name=st.sampled_from(NAMES),
    day=st.dates(BUSINESS_DATE_MIN, BUSINESS_DATE_MAX),
    data=st.data(),
)
def test_round_trip(name, day: dt.date, data: st.DataObject) -> None:
    fields = set(name.pattern.groupindex) - {"date"}
    parts = {field: data.draw(PARTS[field]) for field in fields}
    path = name.inbox_path(day, **parts)
    found = match_path(tuple(path.split("/")))
    assert found is not None
    assert (found.kind, found.business_date) == (name.kind, day)
    expected = {k: (f"{v:04d}" if k == "upload" else v) for k, v in parts.items()}
    assert found.parts == expected


@pytest.mark.parametrize(
    "path",
    [
        "master/municipalities_20260230.csv",  # not a calendar date
        "master/municipalities_00010101.csv",  # outside the business-date range (D-400 would overflow)
        "master/municipalities_19890107.csv",
        "platform/ledger_21000101.csv",
        "master/sub/municipalities_20261125.csv",  # too deep
        "platform/ledger_2026112.csv",
        "partner/OTHER/MALL1_sales_20261125.csv",  # folder is not the partner
        "partner/MALL1_sales_20261125.csv",  # no partner folder
        "terminal/T00000001/T00000001_20261125_0000.jsonl",  # uploads count from 0001
        "terminal/T00000002/T00000001_20261125_0001.jsonl",
        "bank/0002/0001_002_1234567_20261125.txt",
        "later/master/municipalities_20261125.csv",
        "master/municipalities_20261125.CSV",
    ],
)
def test_not_inbox_files(path: str) -> None:
    assert match_path(tuple(path.split("/"))) is None


def test_a_formatter_refuses_parts_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError):
        inbox_path("partner_sales", D, partner="mall")
    with pytest.raises(ValueError):
        inbox_path(TERMINAL_KIND, D, terminal="T00000001", upload=10_000)
