"""Issue 7 §2: no valid My Number anywhere seisan writes, whatever disguise it arrives in.

A generated personal number (11 random digits and its check digit) is written, disguised (full-width digits,
ideographic spaces, every dash character, 4-4-4 groups, padding, `\\u` escapes in JSON, touching other digits
in a fixed-width Zengin record), into one text field of one file of every kind; `ingest` runs; then every
byte seisan wrote is scanned: every table of the warehouse (dumped with SELECT), every Parquet file (read back
and as bytes), any other file under the run's folders, and the log records. A value is scanned after NFKC,
JSON unescaping and removal of every non-digit (separators of any kind): the planted 12 digits must appear
nowhere. Searching for the planted digits (not for "any 12 digits passing the check digit") keeps the scan
exact: hashes, timestamps and amounts hold digit runs that pass by chance.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingestion_builders import (
    CARD_KEY,
    MERCHANT,
    MUNI,
    MYKEY,
    PARTNER,
    TERMINAL,
    TERMINAL_KEY,
    D,
    cert_row,
    csv_of,
    ledger_row,
    merchant_row,
    municipality_row,
    run,
    sale_row,
    write,
    write_certs,
    write_masters,
)

from contracts import terminal_log
from contracts.codes import my_number_check_digit
from contracts.schemas import CSV_KINDS_BY_NAME, ColumnType
from contracts.zengin_statement import (
    DATA_SPEC,
    HEADER_SPEC,
    Statement,
    StatementHeader,
    StatementLine,
    write_statement,
)

# --- the number and its disguises ----------------------------------------------------------------------
DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\uff0d", "\ufe63", "\u30fc",
          "\uff70", "\u2043", "\u02d7", "\u2796", "\u207b", "\u208b", "\ufe58", "\u301c"]
SPACES = [" ", "\u3000", "\u00a0", "\u2002", "\u2009", "\u202f"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def my_numbers() -> st.SearchStrategy[str]:
    # at least five distinct digits: "000000000000" passes the check digit but fills every zero-padded field
    body = st.text("0123456789", min_size=11, max_size=11).filter(lambda b: len(set(b)) >= 5)
    return body.map(lambda b: b + str(my_number_check_digit(b)))


def disguise(number: str, full_width: bool, separator: str | None, pad: str) -> str:
    """The number as a producer might write it; every form is a My Number by FORMATS.md."""
    digits = number.translate(FULL_WIDTH) if full_width else number
    if separator is not None:
        digits = separator.join((digits[:4], digits[4:8], digits[8:]))
    return pad + digits + pad


disguises = st.builds(
    disguise,
    my_numbers(),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from(DASHES + SPACES)),
    st.sampled_from(["", " ", "\u3000", "  "]),
)


def _planted_digits(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", value) if c.isdigit())


# --- the scan --------------------------------------------------------------------------------------------
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _digits_only(text: str) -> str:
    folded = unicodedata.normalize("NFKC", _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    return "".join(c for c in folded if "0" <= c <= "9")


def _written_texts(con: duckdb.DuckDBPyConnection, root: Path, log_text: str) -> Iterator[tuple[str, str]]:
    """(where, text) of everything seisan wrote: tables, Parquet (values and bytes), other files, logs."""
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
    ).fetchall()
    for schema, table in tables:
        for row in con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
            yield f"{schema}.{table}", " ".join(str(v) for v in row)
    for path in root.rglob("*"):
        if not path.is_file() or "inbox" in path.relative_to(root).parts:
            continue
        data = path.read_bytes()
        yield str(path), data.decode("utf-8", errors="replace")
        yield str(path), data.decode("cp932", errors="replace")
        if path.suffix == ".parquet":
            for row in pq.read_table(path).to_pylist():
                yield str(path), " ".join(str(v) for v in row.values())
    yield "log", log_text


def leaks(con: duckdb.DuckDBPyConnection, root: Path, log_text: str, planted: str) -> list[str]:
    assert len(planted) == 12
    return [where for where, text in _written_texts(con, root, log_text) if planted in _digits_only(text)]


# --- one valid row of every CSV kind --------------------------------------------------------------------
def _csv_rows() -> dict[str, tuple[str, dict[str, str]]]:
    d = D.strftime("%Y%m%d")
    m = "20261120"
    return {
        "platform_ledger": (f"platform/ledger_{d}.csv", {**ledger_row("E1"), "auth_id": "A1", "payment_ref": "R1",
                                                          "partner_txn_id": "X1", "lot_event_id": "L1"}),
        "platform_ledger_cancel": (f"platform/ledger_{d}.csv", {
            **ledger_row("E1"), "event_type": "cancel", "program_code": "", "amount": "100", "merchant_id": MERCHANT,
            "channel": "online", "partner_code": PARTNER, "partner_txn_id": "O1", "cancel_of": "U1"}),
        "platform_balances": (f"platform/balances_{d}.csv", dict(
            municipality_code=MUNI, program_code="P1", mykey_id=MYKEY, balance="5")),
        "platform_mykey_certs": ("platform/mykey_certs_20261102.csv", cert_row()),
        "partner_sales": (f"partner/{PARTNER}/{PARTNER}_sales_{d}.csv", sale_row()),
        "partner_conversion": (f"partner/{PARTNER}/{PARTNER}_conversion_{d}.csv", dict(
            partner_txn_id="C1", txn_ts="2026-11-25T09:00:00+09:00", mykey_id=MYKEY, municipality_code=MUNI,
            partner_points="100", municipal_points="100", amount_due_yen="100", status="applied")),
        "partner_settlement": (f"partner/{PARTNER}/{PARTNER}_settlement_{d}.csv", dict(
            payment_ref="R1", charged_at="2026-11-25T09:00:00+09:00", municipality_code=MUNI, amount="1000",
            fee="30", net="970", deposit_date="2026-11-30")),
        "master_merchants": (f"master/merchants_{m}.csv", merchant_row()),
        "master_municipalities": (f"master/municipalities_{m}.csv", municipality_row()),
        "master_designations": (f"master/designations_{m}.csv", dict(
            municipality_code=MUNI, merchant_id=MERCHANT, valid_from="2026-11-01", valid_to="")),
        "master_programs": (f"master/programs_{m}.csv", dict(
            program_code="P1", municipality_code=MUNI, name="給付", kind="benefit", funding="municipal_budget",
            expiry="days:365", annual_cap_per_person="")),
        "master_partners": (f"master/partners_{m}.csv", dict(
            partner_code=PARTNER, name="n", kind="airline", encoding="utf-8", payer_name_kana="ｱｸﾒ")),
        "master_terminals": (f"master/terminals_{m}.csv", dict(
            terminal_id=TERMINAL, merchant_id=MERCHANT, public_key=terminal_log.terminal_public_key_b64(TERMINAL_KEY),
            active_from="2026-01-01", active_to="")),
        "master_fee_schedule": (f"master/fee_schedule_{m}.csv", dict(
            bank_code="0001", relation="same_bank", min_amount="0", max_amount="", fee_yen="110")),
        "master_cost_rates": (f"master/cost_rates_{m}.csv", dict(
            item="ledger_event", unit="event", yen_per_unit="0.3")),
    }


CSV_ROWS = _csv_rows()
# FORMATS.md: a text value is any field that is not an amount, count, date or timestamp (decimal: a number)
_TEXT_TYPES = (ColumnType.ID, ColumnType.TEXT, ColumnType.ENUM, ColumnType.DIGITS)
CSV_TARGETS = [
    (case, column.name)
    for case, (path, _) in CSV_ROWS.items()
    for column in CSV_KINDS_BY_NAME[case.removesuffix("_cancel")].columns
    if column.type in _TEXT_TYPES
]


def plant_csv(inbox: Path, case: str, column: str, value: str) -> None:
    path, row = CSV_ROWS[case]
    kind = case.removesuffix("_cancel")
    other = {**row}
    key = CSV_KINDS_BY_NAME[kind].keys[0]
    other[key] = f"{other[key]}-2" if kind != "master_designations" else other[key]
    rows = [{**row, column: value}] if kind == "master_designations" else [{**row, column: value}, other]
    write(inbox, path, csv_of(kind, rows))


# --- terminal logs ----------------------------------------------------------------------------------------
TERMINAL_TARGETS = ["auth_id", "mykey_id", "merchant_id", "municipality_code", "card_cert_serial"]


def _use(seq: int, prev_hash: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "v": 1, "type": "use", "terminal_id": TERMINAL, "seq": seq, "ts": f"{D.isoformat()}T11:00:{seq:02d}+09:00",
        "merchant_id": MERCHANT, "municipality_code": MUNI, "mykey_id": MYKEY, "amount": 100 + seq,
        "auth_id": f"A{seq}", "card_cert_serial": "1a2b", "prev_hash": prev_hash, **changes,
    }
    record["card_sig"] = terminal_log.sign_card_message_with_key(CARD_KEY, record)
    return terminal_log.finish_record(record)


def plant_terminal(inbox: Path, field: str, value: str, escaped: bool) -> None:
    """A verifying file of two uses and a seal, the first use carrying `value` in `field` (re-hashed and
    re-signed: the file verifies, the record alone is judged). With `escaped`, the value is written with
    `\\u` escapes (valid JSON for the same string)."""
    first = _use(1, terminal_log.GENESIS_HASH, **{field: value})
    second = _use(2, first["hash"])
    seal = terminal_log.make_seal(TERMINAL, 3, f"{D.isoformat()}T20:00:00+09:00", 2, second["hash"], TERMINAL_KEY)
    lines = [terminal_log.dump_line(r) for r in (first, second, seal)]
    if escaped:
        plain = json.dumps(value, ensure_ascii=False).encode("utf-8")
        lines[0] = lines[0].replace(plain, "".join(f"\\u{ord(c):04x}" for c in value).join(b'""'.decode()).encode())
        assert json.loads(lines[0]) == json.loads(terminal_log.dump_line(first))
    write(inbox, f"terminal/{TERMINAL}/{TERMINAL}_{D.strftime('%Y%m%d')}_0001.jsonl", b"".join(lines))


# --- Zengin statements ------------------------------------------------------------------------------------
BANK_PATH = f"bank/0001/0001_004_1234567_{D.strftime('%Y%m%d')}.txt"
_FIELDS = {("1", name): (start, length) for name, start, length, kind in HEADER_SPEC if kind == "C"}
_FIELDS |= {("2", name): (start, length) for name, start, length, kind in DATA_SPEC if kind == "C"}
BANK_TARGETS = sorted(_FIELDS)


def _statement() -> bytes:
    header = StatementHeader(created_date=D, period_from=D, period_to=D, bank_code="0001", bank_name="ﾐｽﾞﾎ",
                             branch_code="004", branch_name="ﾏﾙﾉｳﾁ", account_type=1, account_number="1234567",
                             account_name="ﾁﾖﾀﾞｸ", opening_balance=1_000_000)
    lines = (
        # 振込依頼人コード right before 振込依頼人名, and a 摘要 ending in digits right before EDI情報: a number
        # planted in the next field touches other digits in the record
        StatementLine("00000001", D, D, "credit", "11", 5_000, remitter_code="1111111111",
                      description="ABCDEFGH000000000000"),
        StatementLine("00000002", D, D, "debit", "11", 3_000, description="ｿｳｺﾞｳﾌﾘｺﾐ"),
    )
    return write_statement(Statement(header, lines))


def plant_bank(inbox: Path, record_type: str, field: str, value: str, right_aligned: bool) -> None:
    data = bytearray(_statement())
    records = data.split(b"\r\n")
    index = 0 if record_type == "1" else 1
    start, length = _FIELDS[(record_type, field)]
    encoded = value.encode("cp932")
    assert len(encoded) <= length
    placed = encoded.rjust(length, b" ") if right_aligned else encoded.ljust(length, b" ")
    record = bytearray(records[index])
    record[start - 1 : start - 1 + length] = placed
    records[index] = bytes(record)
    write(inbox, BANK_PATH, b"\r\n".join(records))


# --- the runs ---------------------------------------------------------------------------------------------
def _ingest_and_scan(tmp: Path, plant: Callable[[Path], None], planted: str) -> list[str]:
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    inbox = tmp / "inbox"
    write_masters(inbox)
    write_certs(inbox, [cert_row()])
    plant(inbox)
    records: list[str] = []
    handler = _ListHandler(records)
    root_logger = logging.getLogger()
    root_logger.addHandler(handler)
    previous = root_logger.level
    root_logger.setLevel(logging.DEBUG)
    con = duckdb.connect(":memory:")
    try:
        run(con, tmp)
        return leaks(con, tmp, "\n".join(records), planted)
    finally:
        con.close()
        root_logger.removeHandler(handler)
        root_logger.setLevel(previous)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record) + repr(record.args))


SCAN_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SCAN_SETTINGS
@given(target=st.sampled_from(CSV_TARGETS), value=disguises)
def test_no_my_number_from_any_csv_field_is_written_anywhere(tmp_path: Path, target: tuple[str, str], value: str):
    case, column = target
    planted = _planted_digits(value)
    assert _ingest_and_scan(tmp_path / "run", lambda inbox: plant_csv(inbox, case, column, value), planted) == []


@pytest.mark.parametrize(("case", "column"), CSV_TARGETS)
def test_every_csv_text_field_is_covered(tmp_path: Path, case: str, column: str) -> None:
    # one example per field (Hypothesis above samples fields at random): full-width, 4-4-4 with a dash
    number = "123456789018"
    value = disguise(number, True, DASHES[len(column) % len(DASHES)], "")
    assert _ingest_and_scan(tmp_path / "run", lambda inbox: plant_csv(inbox, case, column, value), number) == []


@SCAN_SETTINGS
@given(target=st.sampled_from(BANK_TARGETS), number=my_numbers(), separator=st.sampled_from(["", "-", " "]),
       right_aligned=st.booleans())
def test_no_my_number_from_any_zengin_text_field_is_written_anywhere(
    tmp_path: Path, target: tuple[str, str], number: str, separator: str, right_aligned: bool
) -> None:
    record_type, field = target
    value = separator.join((number[:4], number[4:8], number[8:]))
    if len(value) > _FIELDS[target][1]:
        value = number
    assert _ingest_and_scan(
        tmp_path / "run", lambda inbox: plant_bank(inbox, record_type, field, value, right_aligned), number
    ) == []


@pytest.mark.parametrize(
    ("field", "value", "right_aligned"),
    [
        ("remitter_name", "123456789018", False),  # right after the 10 digits of 振込依頼人コード
        ("edi", "123456789018", True),  # right-aligned: touches the next record's digits when unseparated
        ("edi", "1234-5678-9018", False),  # right after a 摘要 ending in digits
        ("remitter_name", "１２３４５６７８９０１８", False),  # full-width: not JIS X 0201, still judged first
        ("remitter_name", "１２３４\u30005678\u30009018", True),
    ],
)
def test_zengin_number_touching_other_digits_or_full_width_is_masked(
    tmp_path: Path, field: str, value: str, right_aligned: bool
) -> None:
    assert _ingest_and_scan(
        tmp_path / "run", lambda inbox: plant_bank(inbox, "2", field, value, right_aligned), "123456789018"
    ) == []


@SCAN_SETTINGS
@given(field=st.sampled_from(TERMINAL_TARGETS), value=disguises)
def test_no_my_number_from_any_terminal_field_is_written_anywhere(tmp_path: Path, field: str, value: str) -> None:
    planted = _planted_digits(value)
    assert _ingest_and_scan(tmp_path / "run", lambda inbox: plant_terminal(inbox, field, value, False), planted) == []


@pytest.mark.parametrize("field", ["auth_id", "mykey_id"])
def test_no_my_number_written_with_json_escapes_is_written_anywhere(tmp_path: Path, field: str) -> None:
    number = "123456789018"
    assert _ingest_and_scan(tmp_path / "run", lambda inbox: plant_terminal(inbox, field, number, True), number) == []


def test_the_scan_finds_a_number_stored_in_clear(tmp_path: Path) -> None:
    # the scan itself: a 13-digit 法人番号 is not a My Number and loads; its first 12 digits are found
    corporate = "7000012050002"
    found = _ingest_and_scan(tmp_path / "run", lambda inbox: plant_csv(inbox, "partner_sales", "order_id", corporate),
                             corporate[:12])
    assert any("partner_sales" in where for where in found)
    escaped = "".join(f"\\u{ord(c):04x}" for c in "１２３4")
    assert _digits_only(f"x{escaped}-5678\u30009018") == "123456789018"


# --- card certificate serials (issue 7 §2): never in a quarantine detail or a manifest detail -------------
def test_card_certificate_serials_never_appear_in_details(tmp_path: Path) -> None:
    unknown_serial = "c0ffee1234abcd"
    bad_serial = "zz" + unknown_serial  # not hex: a pattern problem in the certificates file

    def plant(inbox: Path) -> None:
        plant_terminal(inbox, "card_cert_serial", unknown_serial, False)  # no such certificate registered
        write(inbox, "platform/mykey_certs_20261103.csv", csv_of("platform_mykey_certs", [
            {**cert_row(serial=0x77), "cert_serial": bad_serial},
            {**cert_row(serial=0x78), "previous_serial": unknown_serial},  # previous_serial on a registration
        ]))

    root = tmp_path / "run"
    inbox = root / "inbox"
    write_masters(inbox)
    write_certs(inbox, [cert_row()])
    plant(inbox)
    con = duckdb.connect(":memory:")
    run(con, root)
    reasons = {r for (r,) in con.execute("SELECT reason_code FROM raw.quarantine").fetchall()}
    assert {"terminal_cert_not_valid", "field_pattern", "fields_inconsistent"} <= reasons
    details = [d for (d,) in con.execute(
        "SELECT detail FROM raw.quarantine UNION ALL SELECT detail FROM raw.file_manifest").fetchall() if d]
    assert details and not any(unknown_serial in d.lower() or bad_serial in d.lower() for d in details)


def test_no_my_number_from_a_file_name_is_written_anywhere(tmp_path: Path) -> None:
    def plant(inbox: Path) -> None:
        write(inbox, "platform/1234-5678-9018.csv", b"a\n1\n")
        write(inbox, "terminal/123456789018/x.jsonl", b"{}\n")

    assert _ingest_and_scan(tmp_path / "run", plant, "123456789018") == []
