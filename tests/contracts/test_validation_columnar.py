"""contracts.validation_columnar decides exactly the rows validate_record passes, with the same typed values.

The reference is `validate_record`, the row path (its own tests hold it to FORMATS.md). Three checks:
- every CSV row of a hostile simulated world, with and without masters (a lookup that knows half the keys);
- rows recombined by hypothesis from those values and from hand-written edge values of every column type;
- every cross-field rule's declaration (`CrossRule`): it reads nothing but what it declares.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from contracts.codes import municipality_check_digit
from contracts.csvio import PlainLines, read_csv
from contracts.inbox_names import match_path
from contracts.schemas import CSV_KINDS, CSV_KINDS_BY_NAME, ColumnType, FileKind
from contracts.validation import RowContext, cross_field_rules, header_problem, validate_record
from contracts.validation_columnar import ROW, clean_rows
from simulator import simulate

START = dt.date(2026, 3, 28)
Rows = list[list[str]]


class HalfKnown:
    """A masters lookup that knows a key on a date when a hash of both is even: both outcomes, deterministic."""

    def known(self, master: str, key: str, on: dt.date) -> bool:
        return hashlib.sha256(f"{master}|{key}|{on}".encode()).digest()[0] % 2 == 0


def _agree(kind: FileKind, header: tuple[str, ...], rows: list[list[str]], context: RowContext) -> int:
    """Assert the columnar verdict equals validate_record's for every row; the number of clean rows."""
    clean, undecided = clean_rows(kind, header, rows, context)
    plain = [row for row in rows if not any(c in field for field in row for c in ',"\x00\r\n')]
    plain = [row[:-1] if i % 7 == 3 else [*row, "x"] if i % 11 == 5 else row for i, row in enumerate(plain)]
    if plain:  # the same rows as plain lines, split by polars, some of too few or too many fields: the same verdicts
        lines = PlainLines(list(range(len(plain))), [",".join(row) + "\r\n"[i % 2 :] for i, row in enumerate(plain)])
        assert_frame_equal(clean_rows(kind, header, lines, context)[0], clean_rows(kind, header, plain, context)[0])
        assert clean_rows(kind, header, lines, context)[1] == clean_rows(kind, header, plain, context)[1]
    typed_by_row = {row.pop(ROW): row for row in clean.to_dicts()}
    assert set(typed_by_row).isdisjoint(undecided)
    assert sorted(set(typed_by_row) | set(undecided)) == list(range(len(rows)))
    for index, fields in enumerate(rows):
        typed, problems = validate_record(kind, header, fields, context)
        if index in typed_by_row:
            assert problems == [], (kind.name, fields, problems)
            assert typed_by_row[index] == typed, (kind.name, fields)
            assert all(type(typed_by_row[index][k]) is type(v) for k, v in typed.items()), (kind.name, fields)
        else:
            assert problems, (kind.name, fields, "passes validate_record but was left undecided")
    return len(typed_by_row)


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[FileKind, dt.date, tuple[str, ...], Rows]]:
    inbox = tmp_path_factory.mktemp("columnar") / "inbox"
    simulate(inbox, START, 3, 2, 120, 31, faults="hostile")
    found = []
    for path in sorted(inbox.rglob("*.csv")):
        match = match_path(path.relative_to(inbox).parts)
        if match is None or match.kind not in CSV_KINDS_BY_NAME:
            continue
        kind = CSV_KINDS_BY_NAME[match.kind]
        data = path.read_bytes()
        read = read_csv(data, "utf-8")
        if read.error is not None and read.error.code == "file_encoding_invalid":
            read = read_csv(data, "cp932")  # a partner that writes Shift_JIS
        if read.error is not None or header_problem(kind, read.header) is not None:
            continue
        found.append((kind, match.business_date, read.header, [r.fields for r in read.records]))
    return found


@pytest.mark.parametrize("masters", [None, HalfKnown()], ids=["no-masters", "half-known"])
def test_every_row_of_a_hostile_world_is_decided_as_validate_record_decides_it(hostile_files, masters) -> None:
    kinds, clean, total = set(), 0, 0
    for kind, day, header, rows in hostile_files:
        clean += _agree(kind, header, rows, RowContext(day, masters))
        total += len(rows)
        kinds.add(kind.name)
    assert {"platform_ledger", "platform_balances", "platform_mykey_certs", "partner_sales"} <= kinds
    assert len(kinds) >= 12  # masters, platform and partner files
    assert 0 < clean < total  # both kinds of verdict were exercised


# --- recombined rows ------------------------------------------------------------------------------------------
def _with_check_digit(five: str) -> str:
    return five + str(municipality_check_digit(five))


MY_NUMBERS = ["123456789018", "1234-5678-9018", "1234 5678 9018", "１２３４５６７８９０１８", " 123456789018 "]
EDGES: dict[ColumnType, list[str]] = {
    ColumnType.AMOUNT: ["0", "1", "-1", "-0", "+1", "00000001", "10000000", "10000001", "-10000000", "1.0", "１", "",
                        " 1"],
    ColumnType.COUNT: ["0", "999999999999999999", "1000000000000000000", "-1", "+0", "00", "1e3", ""],
    ColumnType.DATE: ["2026-03-28", "2026-02-29", "2028-02-29", "0000-01-01", "0001-01-01", "2026-3-28",
                      "２０２６-03-28", "1989-01-08", "1989-01-07", "2099-12-31", "2100-01-01", "2026-03-28 ", ""],
    ColumnType.TIMESTAMP: ["2026-03-28T10:00:00+09:00", "2026-03-28T10:00:00Z", "2026-03-28T01:00:00+00:00",
                           "2026-03-28T23:59:60+09:00", "2026-03-28T24:00:00+09:00", "2026-03-28T10:00+09:00",
                           "2026-03-28T10:00:00.123456789+09:00", "2026-03-28T10:00:00,5+0900", "2026-03-27T15:00:00Z",
                           "0001-01-01T00:00:00+09:00", "2026-03-28T10:00:00", "2026-03-29T10:00:00+09:00",
                           "2026-03-30T10:00:00+09:00", "2025-02-20T10:00:00+09:00", ""],
    ColumnType.DECIMAL: ["0.3", "12", "-1", ".5", "1.", "1,5", ""],
    ColumnType.ENUM: ["", "GRANT", " grant"],
    ColumnType.TEXT: ["千代田区", "a\tb", "a\u202eb", "x" * 1025, "x" * 1024, "ｶﾅ", ""],
    ColumnType.ID: ["", "a\x00", "x" * 257, "é", "ABCDEFGH1", "12345678", "a1b2c3d4e5f6a7b8c", "131016", "131017"],
    ColumnType.DIGITS: ["", "0001", "000", "٠٠٠١", "12345678901"],
}


@pytest.fixture(scope="module")
def pools(hostile_files) -> dict[str, dict[str, tuple[list[str], list[str]]]]:
    """Per kind and column: (values the hostile world delivered, edge values of the column's type)."""
    by_kind: dict[str, dict[str, set[str]]] = {}
    for kind, _, header, rows in hostile_files:
        columns = by_kind.setdefault(kind.name, {c: set() for c in kind.column_names})
        for fields in rows:
            if len(fields) == len(header):
                for name, value in zip(header, fields, strict=True):
                    columns[name].add(value)
    codes = [_with_check_digit("13101"), _with_check_digit("01100")]
    return {
        kind.name: {
            c.name: (
                sorted(by_kind.get(kind.name, {}).get(c.name, set()))[:40] or codes,
                EDGES[c.type] + MY_NUMBERS + list(c.values) + codes,
            )
            for c in kind.columns
        }
        for kind in CSV_KINDS
    }


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), kind=st.sampled_from(CSV_KINDS), masters=st.sampled_from([None, HalfKnown()]))
def test_recombined_rows_are_decided_as_validate_record_decides_them(pools, data, kind, masters) -> None:
    header = kind.column_names

    def value(name: str) -> str:
        delivered, edges = pools[kind.name][name]
        return data.draw(st.sampled_from(edges if data.draw(st.integers(0, 40)) == 0 else delivered))

    rows = [[value(name) for name in header] for _ in range(data.draw(st.integers(1, 40)))]
    if data.draw(st.booleans()):
        rows.append(rows[0][:-1])  # a row with a field missing
    clean = _agree(kind, header, rows, RowContext(START, masters))
    event("some rows clean" if clean else "no row clean")
    event("some rows refused" if clean < len(rows) else "every row clean")


@pytest.mark.parametrize("masters", [None, HalfKnown()], ids=["no-masters", "half-known"])
def test_every_edge_value_in_every_column_of_a_clean_row(hostile_files, pools, masters) -> None:
    """Deterministic: each kind's first clean row of the world, with each edge value put in each column in turn."""
    tried = 0
    for kind in CSV_KINDS:
        base = next(
            (
                (day, header, fields)
                for k, day, header, rows in hostile_files
                if k is kind
                for fields in rows
                if validate_record(kind, header, fields, RowContext(day, masters))[1] == []
            ),
            None,
        )
        if base is None:
            continue
        day, header, fields = base
        variants = [list(fields)]
        for position, name in enumerate(header):
            for edge in pools[kind.name][name][1]:
                variant = list(fields)
                variant[position] = edge
                variants.append(variant)
        _agree(kind, header, variants, RowContext(day, masters))
        tried += len(variants)
    assert tried > 1000


# --- cross-field rule declarations ----------------------------------------------------------------------------
def _typed_pool(column_type: ColumnType, values: tuple[str, ...]) -> list[Any]:
    return {
        ColumnType.AMOUNT: [None, -5, 0, 5, 100],
        ColumnType.COUNT: [None, 0, 5, 100],
        ColumnType.DATE: [None, dt.date(2026, 1, 1), dt.date(2026, 6, 1)],
        ColumnType.TIMESTAMP: [None, dt.datetime(2026, 1, 1, 9), dt.datetime(2026, 6, 1)],
        ColumnType.ENUM: [None, *values],
    }.get(column_type, [None, "x", "1", "7", "end", "A1"])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), kind=st.sampled_from([k for k in CSV_KINDS if cross_field_rules(k)]))
def test_cross_field_rules_read_only_what_they_declare(data, kind) -> None:
    typed = {c.name: data.draw(st.sampled_from(_typed_pool(c.type, c.values))) for c in kind.columns}
    for rule in cross_field_rules(kind):
        projected = {name: typed[name] for name in rule.values}
        projected |= {name: (True if typed[name] is not None else None) for name in rule.present}
        for name in rule.signs:
            projected[name] = None if typed[name] is None else (typed[name] > 0) - (typed[name] < 0)
        assert bool(rule(typed)) == bool(rule(projected)), (kind.name, typed)



# --- a leading look-ahead run by polars ---------------------------------------------------------------------------
# A pattern `(?=A)B` (MyKey IDs) is run by polars as two matches; any other look-around is left to Python.

def test_a_leading_look_ahead_is_split_only_where_the_split_is_the_same_test() -> None:
    from contracts.schemas import MYKEY_ID
    from contracts.validation_columnar import _leading_lookahead

    assert _leading_lookahead(MYKEY_ID) == ("[A-Za-z0-9]*[A-Za-z]", "[A-Za-z0-9]{8,16}")
    assert _leading_lookahead("(?=(a|b))x") == ("(a|b)", "x")
    assert _leading_lookahead("(?=[)(])x") == ("[)(]", "x")
    assert _leading_lookahead(r"(?=\))x") == (r"\)", "x")
    assert _leading_lookahead("(?=[]a])x") == ("[]a]", "x")
    assert _leading_lookahead("(?=a)b|c") is None  # the look-ahead covers b only
    assert _leading_lookahead("(?=a)(?!b)c") is None  # polars cannot run the rest
    assert _leading_lookahead("a(?=b)") is None
    assert _leading_lookahead("(?=a") is None


_LOOKAHEAD_PATTERNS = ["(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{8,16}", "(?=(a|b))[ab]{2}", "(?=a)(b|a)+",
                       "(?=[]a])[]ab]*", r"(?=\))[)a]{1,3}", "(?=)x?"]


@settings(max_examples=200, deadline=None)
@given(pattern=st.sampled_from(_LOOKAHEAD_PATTERNS),
       values=st.lists(st.text(alphabet="aAbzZ09)]x_ ", max_size=18), min_size=1, max_size=40))
def test_a_split_look_ahead_matches_what_python_matches(pattern, values) -> None:
    import re

    import polars as pl

    from contracts.validation_columnar import _full, _leading_lookahead

    assert _leading_lookahead(pattern) is not None
    found = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(_full(pl.col("v"), pattern))["v"].to_list()
    assert found == [re.fullmatch(pattern, v) is not None for v in values]
