"""csvio writer -> reader gives back the same values, for every CSV kind and awkward text."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.csvio import PLAIN_BLOCK_LINES, CsvScan, PlainLines, csv_bytes, read_csv, write_csv
from contracts.schemas import CSV_KINDS, ColumnType

EDGE_TEXT = ["千代田区, 東京都", 'say "こんにちは"', "two\nlines", "crlf\r\ninside", "ﾁﾖﾀﾞｸ", ""]
EDGE_BY_TYPE = {
    ColumnType.AMOUNT: ["0", "10000000", "1"],
    ColumnType.COUNT: ["0", "99999999999"],
    ColumnType.DATE: ["2026-01-31", "2026-12-31", "2028-02-29"],
    ColumnType.TIMESTAMP: ["2026-03-31T23:59:59+09:00", "2026-12-31T15:00:00Z"],
    ColumnType.DECIMAL: ["0.3", "12"],
}


def _rows(kind, count=6):
    rows = []
    for i in range(count):
        row = {}
        for column in kind.columns:
            pool = EDGE_BY_TYPE.get(column.type, EDGE_TEXT if column.type is ColumnType.TEXT else [f"v{i}"])
            row[column.name] = pool[i % len(pool)]
        rows.append(row)
    return rows


@pytest.mark.parametrize("kind", CSV_KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize(
    ("encoding", "line_ending", "bom"),
    [("utf-8", "\n", False), ("utf-8", "\r\n", True), ("cp932", "\r\n", False)],
)
def test_round_trip(kind, encoding, line_ending, bom):
    rows = _rows(kind)
    data = csv_bytes(kind.column_names, rows, encoding=encoding, line_ending=line_ending, bom=bom)
    read = read_csv(data, encoding)
    assert read.error is None
    assert read.header == kind.column_names
    assert [dict(zip(read.header, r.fields, strict=True)) for r in read.records] == rows


@pytest.mark.parametrize("kind", CSV_KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_a_file_written_row_by_row_reads_back_the_same_rows(kind, encoding, tmp_path):
    rows = _rows(kind)
    target = tmp_path / "file.csv"
    with target.open("w", encoding=encoding, newline="") as stream:
        write_csv(stream, kind.column_names, rows)
    read = read_csv(target.read_bytes(), encoding)
    assert read.error is None
    assert read.header == kind.column_names
    assert [dict(zip(read.header, r.fields, strict=True)) for r in read.records] == rows


def test_the_writer_quotes_only_what_needs_it_and_keeps_newlines_inside_fields(tmp_path):
    target = tmp_path / "file.csv"
    with target.open("w", encoding="cp932", newline="") as stream:
        write_csv(stream, ["a", "b", "c"], [{"a": "千代田区, 東京", "b": 'say "hi"', "c": None},
                                            ["two\nlines", "crlf\r\nin", 7]])
    assert target.read_bytes() == ('a,b,c\n"千代田区, 東京","say ""hi""",\n'
                                   '"two\nlines","crlf\r\nin",7\n').encode("cp932")


def test_line_numbers_count_physical_lines():
    data = csv_bytes(["a", "b"], [["x\ny\nz", "1"], ["plain", "2"]], line_ending="\r\n")
    read = read_csv(data)
    assert [r.line_number for r in read.records] == [2, 5]
    assert read.records[0].raw_text == '"x\ny\nz",1'


def test_errors():
    assert read_csv(b'a,b\n"open,1\n').error.code == "csv_malformed"
    assert read_csv(b"a,b\n1,2\n3,4\n", max_records=1).error.code == "file_too_many_rows"
    assert read_csv("a\n注\n".encode("cp932")).error.code == "file_encoding_invalid"
    assert read_csv(b"").error.code == "file_empty"



# --- the plain-line reader against csv.reader ------------------------------------------------------------------
# CsvScan splits a line without a quote itself; csv.reader reads every other record. Both must give exactly what
# csv.reader alone gives: the same records, lines, delivered text, errors and where reading stopped.
_PIECES = st.sampled_from(
    ["a", "b", ",", '"', '""', "\n", "\r\n", "\r", " ", "\t", "\x00", "千", "ｶ", "1234", "", "\u202e", ",,", '"\n"']
)


def _scan(text: str, plain: bool, max_records: int | None, block_lines: int = PLAIN_BLOCK_LINES):
    scan = CsvScan(iter(io.StringIO(text, newline="")), max_records, plain_lines=plain, block_lines=block_lines)
    records = [(r.line_number, r.fields, r.delivered) for r in scan.records()]
    return scan.header, records, scan.error


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(_PIECES, max_size=60),
    max_records=st.sampled_from([None, 0, 2]),
    block_lines=st.sampled_from([1, 2, 3, PLAIN_BLOCK_LINES]),  # quoted records that start or span a block's end
)
def test_plain_lines_read_as_csv_reader_reads_them(pieces, max_records, block_lines):
    text = "h1,h2\n" + "".join(pieces)
    assert _scan(text, True, max_records, block_lines) == _scan(text, False, max_records)


def test_a_line_over_the_field_limit_is_left_to_csv_reader():
    text = "h\n" + "x" * (csv.field_size_limit() + 1) + "\nok\n"
    plain, reference = _scan(text, True, None), _scan(text, False, None)
    assert plain == reference
    assert plain[2] is not None and plain[2].code == "csv_malformed"  # csv.reader's own limit, kept


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(_PIECES, max_size=60),
    max_records=st.sampled_from([None, 0, 2]),
    size=st.sampled_from([1, 2, 3, 10_000]),
    max_chars=st.sampled_from([None, 1, 4, 9]),
    plain=st.booleans(),
    block_lines=st.sampled_from([1, 2, PLAIN_BLOCK_LINES]),
)
def test_chunks_hold_the_records_in_order(pieces, max_records, size, max_chars, plain, block_lines):
    """`chunks(size, max_chars)` gives what `records()` gives, `size` records at a time or fewer once they hold
    `max_chars` characters; a chunk of plain lines only is PlainLines, whose records are the lines split at their
    commas."""
    text = "h1,h2\n" + "".join(pieces)
    scan = CsvScan(iter(io.StringIO(text, newline="")), max_records, plain_lines=plain, block_lines=block_lines)
    chunks = list(scan.chunks(size, max_chars))
    assert all(0 < len(chunk) <= size for chunk in chunks)
    records_of = [chunk.records() if isinstance(chunk, PlainLines) else chunk for chunk in chunks]
    held = [sum(len(r.delivered) for r in own) for own in records_of]
    # every chunk but the last is full: `size` records, or `max_chars` characters reached (not before its last
    # block of plain lines, or its last record read by csv.reader)
    assert all(len(chunk) == size or (max_chars is not None and chars >= max_chars)
               for chunk, chars in zip(chunks[:-1], held, strict=False))
    if max_chars is not None:
        assert all(chars - sum(len(r.delivered) for r in own[-block_lines:]) < max_chars
                   for own, chars in zip(records_of, held, strict=True))
    records = [record for own in records_of for record in own]
    assert (scan.header, [(r.line_number, r.fields, r.delivered) for r in records], scan.error) == _scan(
        text, False, max_records)
    for chunk in chunks:
        if isinstance(chunk, PlainLines):
            assert all('"' not in line and "\x00" not in line for line in chunk.lines)
            assert [chunk[i] for i in range(len(chunk))] == chunk.records()


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=40), max_records=st.sampled_from([None, 0, 2]))
def test_read_plain_gives_the_records_read_gives(pieces, max_records):
    """read_csv(plain=True): the same header, records and error, the records as PlainLines when each is a plain
    line (for the columnar checks to split in bulk)."""
    data = ("h1,h2\n" + "".join(pieces)).encode()
    lines, read = read_csv(data, max_records=max_records, plain=True), read_csv(data, max_records=max_records)
    assert (lines.header, list(lines.records), lines.error) == (read.header, read.records, read.error)
    if read.records and all('"' not in r.delivered and "\x00" not in r.delivered for r in read.records):
        assert isinstance(lines.records, PlainLines)
