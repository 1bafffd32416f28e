"""Generated hostile terminal JSONL (wrong JSON types, nesting, big integers, NaN/Infinity, escapes, duplicate
keys, invalid UTF-8, byte order marks, personal numbers in disguise) in otherwise valid, signed files.

Properties, for every generated file delivered beside a valid upload of the same terminal: ingest never
raises; the hostile file gets exactly one manifest row, `loaded` or `rejected`, and every rejection and
quarantined record carries a known reason code; rows read = loaded + quarantined; the valid upload loads
completely; and no personal number that was written into the file appears anywhere in the warehouse.
A longer soak: SEISAN_FUZZ_EXAMPLES=2000 uv run --frozen pytest tests/reliability -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import os
import unicodedata

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingestion_builders import (
    TERMINAL,
    accounting_holds,
    all_tables,
    cert_row,
    manifest,
    resign_terminal_records,
    run,
    terminal_bytes,
    terminal_records,
    write,
    write_certs,
    write_masters,
    write_terminal,
)

from contracts.reasons import Reason
from contracts.terminal_log import GENESIS_HASH

MY_NUMBER = "123456789018"  # valid check digit
CODES = {r.value for r in Reason}
HOSTILE_PATH = f"terminal/{TERMINAL}/{TERMINAL}_20261125_0002.jsonl"
VALID_PATH = f"terminal/{TERMINAL}/{TERMINAL}_20261125_0001.jsonl"
RAW = "\x00RAW\x00"  # placeholder for a JSON fragment spliced in as text

any_text = st.text(st.characters(exclude_categories=()), max_size=20)  # lone surrogates and controls too
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=12,
)
disguised_my_numbers = st.sampled_from([
    MY_NUMBER,
    "1234-5678-9018",
    "1234 5678 9018",
    "１２３４５６７８９０１８",
    "１２３４−５６７８−９０１８",
    "1234\u30005678\u30009018",
    "1234\u20105678\u20109018",
    f" {MY_NUMBER} ",
])
raw_fragments = st.sampled_from([
    "NaN", "Infinity", "-Infinity", "1e999", "1.5", "-0", "9" * 25, str(2**63), str(-(2**63) - 1),
    "[" * 200 + "]" * 200, '{"a":' * 50 + "1" + "}" * 50, '"\\ud800"', '"\\u0000"', "true",
    '"' + "".join(f"\\u{ord(c):04x}" for c in MY_NUMBER) + '"',
])
FIELDS = ("v", "type", "terminal_id", "seq", "ts", "merchant_id", "municipality_code", "mykey_id", "amount",
          "auth_id", "card_cert_serial", "card_sig", "prev_hash", "hash", "extra", "１２３４５６７８９０１８")


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[bytes, bool]:
    """(file bytes, whether a personal number was written into it)."""
    valid = terminal_records(1, 3, GENESIS_HASH)
    records = terminal_records(5, 3, valid[-1]["hash"])
    index = draw(st.integers(0, len(records) - 1))
    field = draw(st.sampled_from(FIELDS) | st.text(st.characters(exclude_categories=()), max_size=6))
    kind = draw(st.sampled_from(["value", "my_number", "raw", "none"]))
    personal = kind == "my_number" or (field == FIELDS[-1] and kind != "none")
    if kind == "value":
        records[index][field] = draw(json_values)
    elif kind == "my_number":
        records[index][field] = draw(disguised_my_numbers)
    elif kind == "raw":
        records[index][field] = RAW
    if draw(st.booleans()) and kind in ("value", "my_number"):
        try:
            records = resign_terminal_records(records[:-1])  # signed again: the value rules are reached
        except (TypeError, ValueError, KeyError, OverflowError):
            pass  # a value the canonical form cannot carry: the file stays as it is (the hash breaks)
    ascii_only = draw(st.booleans())
    lines = [json.dumps(r, ensure_ascii=ascii_only, allow_nan=True) for r in records]
    if kind == "raw":
        fragment = draw(raw_fragments)
        personal = personal or MY_NUMBER in fragment or "\\u0031" in fragment
        lines = [line.replace(json.dumps(RAW, ensure_ascii=ascii_only), fragment) for line in lines]
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
    mutation = draw(st.sampled_from(["none", "none", "bom", "bad_utf8", "duplicate_key", "crlf", "blank_lines",
                                     "truncate"]))
    if mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    elif mutation == "bad_utf8":
        data = data.replace(b'"use"', b'"u\xc3se"', 1)
    elif mutation == "duplicate_key":
        data = data.replace(b'"seq":', b'"seq": 1, "seq":', 1)
    elif mutation == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif mutation == "blank_lines":
        data = data.replace(b"\n", b"\n\n  \n")
    elif mutation == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    return data, personal


def _warehouse_text(con: duckdb.DuckDBPyConnection) -> str:
    return unicodedata.normalize("NFKC", repr(all_tables(con)))


@settings(
    max_examples=int(os.environ.get("SEISAN_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hostile_files())
def test_hostile_terminal_files_get_one_coded_verdict(tmp_path_factory, case: tuple[bytes, bool]) -> None:
    data, personal = case
    root = tmp_path_factory.mktemp("fuzz")
    write_masters(root / "inbox")
    write_certs(root / "inbox", [cert_row()])
    write_terminal(root / "inbox", terminal_records(1, 3, GENESIS_HASH), 1)
    write(root / "inbox", HOSTILE_PATH, data)
    with duckdb.connect(":memory:") as con:
        run(con, root)  # never raises
        valid = manifest(con, VALID_PATH)
        assert (valid["status"], valid["loaded"], valid["quarantined"]) == ("loaded", 4, 0)
        verdict = manifest(con, HOSTILE_PATH)
        assert verdict["count"] == 1 and verdict["status"] in ("loaded", "rejected")
        if verdict["status"] == "rejected":
            assert verdict["reason"] in CODES
        reasons = con.execute("SELECT DISTINCT reason_code FROM raw.quarantine").fetchall()
        assert {r for (r,) in reasons} <= CODES
        assert accounting_holds(con)
        if personal:
            text = _warehouse_text(con)
            assert MY_NUMBER not in text and "1234-5678-9018" not in text and "1234 5678 9018" not in text
            assert "\\\\u0031\\\\u0032" not in text


def test_the_untouched_file_loads_completely(tmp_path) -> None:
    """The control case of the fuzzer: the same two uploads with nothing changed load whole."""
    write_masters(tmp_path / "inbox")
    write_certs(tmp_path / "inbox", [cert_row()])
    valid = terminal_records(1, 3, GENESIS_HASH)
    write_terminal(tmp_path / "inbox", valid, 1)
    write(tmp_path / "inbox", HOSTILE_PATH, terminal_bytes(terminal_records(5, 3, valid[-1]["hash"])))
    with duckdb.connect(":memory:") as con:
        run(con, tmp_path)
        assert manifest(con, HOSTILE_PATH) | {} == dict(
            status="loaded", read=4, loaded=4, quarantined=0, reason=None, count=1
        )
