"""Terminal logs: canonical form, a hand-built chain and seal, every tampering, card signatures, and the one
parser's shape and value rules on hostile input."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import terminal_log as tl
from contracts.codes import MY_NUMBER_MASK
from contracts.terminal_log import (
    GENESIS_HASH,
    CanonicalFormError,
    canonical_bytes,
    card_message,
    dump_line,
    finish_record,
    load_terminal_public_key,
    make_seal,
    record_hash,
    sign_card_message_with_key,
    terminal_public_key_b64,
    verify_card_signature,
    verify_chain,
)

TERMINAL_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


@pytest.fixture(scope="module")
def card_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_canonical_form_by_hand() -> None:
    data = canonical_bytes({"b": 1, "a": "千葉市", "c": [2, {"z": None, "y": "x"}]})
    assert data == '{"a":"千葉市","b":1,"c":[2,{"y":"x","z":null}]}'.encode()
    assert b"\\u" not in data


_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # any code point but a lone surrogate
_FLAT = st.dictionaries(_ANY_TEXT, st.one_of(_ANY_TEXT, st.integers(), st.none()), max_size=8)


@settings(max_examples=400, deadline=None)
@given(_FLAT)
def test_a_flat_records_canonical_form_is_json_dumps_sorted_and_compact(record: dict[str, Any]) -> None:
    """A flat record (the fast path) comes out exactly as the rule FORMATS.md gives, written with json."""
    assert canonical_bytes(record) == json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


@pytest.mark.parametrize(("text", "written"), [
    ("\x00\x1f", "\\u0000\\u001f"),  # control characters: escaped, lower-case hex
    ("a\nb\tc", "a\\nb\\tc"),  # ... with their short escapes where JSON has one
    ('"\\/', '\\"\\\\/'),  # quote and backslash escaped; the solidus is not
    ("\x7f\u2028\ufeff", "\x7f\u2028\ufeff"),  # anything else as UTF-8, unescaped
    ("千葉\U0001f600", "千葉\U0001f600"),
])
def test_unusual_characters_are_written_as_the_canonical_rule_says(text: str, written: str) -> None:
    assert canonical_bytes({"k": text}) == ('{"k":"' + written + '"}').encode("utf-8")


def test_a_lone_surrogate_has_no_canonical_form() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical_bytes({"k": "\ud800"})


@pytest.mark.parametrize("value", [1.0, 0.5, True, b"bytes", {1: "x"}])
def test_canonical_form_rejects(value: Any) -> None:
    with pytest.raises(CanonicalFormError):
        canonical_bytes({"amount": value})


def _strictly(raw: bytes) -> tl.ParsedLine:
    """parse_line with every line taken by the strict json parse (the fast path switched off)."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(tl, "_canonical_flat_record", lambda _raw: None)
        return tl.parse_line(7, raw)


def _written_otherwise(record: dict[str, Any], how: str) -> bytes:
    """The record as a line that is not (or may not be) its canonical form."""
    canonical = canonical_bytes(record)
    if how == "spaced":
        return json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
    if how == "escaped":
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if how == "unsorted":
        return json.dumps(dict(reversed(record.items())), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if how == "key twice":
        return canonical[:-1] + (b',"v":1}' if record else b'"v":1,"v":1}')
    return canonical


_LINE_VALUES = st.one_of(_ANY_TEXT, st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False),
                         st.lists(st.integers(), max_size=2))


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_ANY_TEXT, _LINE_VALUES, max_size=8),
       st.sampled_from(["canonical", "spaced", "escaped", "unsorted", "key twice"]))
def test_a_line_parses_as_the_strict_parse_reads_it(record: dict[str, Any], how: str) -> None:
    """Whatever a line holds (integers of any size, floats, booleans, lists, a key twice, any spacing and escapes),
    parse_line gives what the strict json parse gives: the fast path for canonical flat records changes nothing."""
    try:
        raw = _written_otherwise(record, how)
    except (CanonicalFormError, UnicodeEncodeError):  # no canonical form: written by json
        raw = json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert tl.parse_line(7, raw) == _strictly(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.builds(lambda a, b: a + b, st.sampled_from([b'{"a":', b'{"a":"', b'{']),
                                          st.binary(max_size=12)))
def test_any_bytes_parse_as_the_strict_parse_reads_them(raw: bytes) -> None:
    assert tl.parse_line(7, raw) == _strictly(raw)


@pytest.mark.parametrize(("raw", "detail"), [
    (b'{"a":1,"a":1}', "a key appears twice in one object"),
    (b'{"a":9223372036854775808}', "an integer is past 64 bits"),
    (b'{"a":-9223372036854775809}', "an integer is past 64 bits"),
    (b'{"a":NaN}', "NaN is not a JSON number"),
])
def test_a_line_the_strict_parse_refuses_is_refused_as_it_says(raw: bytes, detail: str) -> None:
    parsed = tl.parse_line(3, raw)
    assert parsed.shape is not None and parsed.shape.code == tl.Reason.TERMINAL_JSON_INVALID
    assert parsed.shape.detail == detail


def test_a_line_a_terminal_writes_takes_the_fast_path() -> None:
    """dump_line writes the canonical form: such a line is decoded without json (and parses as before)."""
    record = finish_record(_use(1, GENESIS_HASH, 1_000))
    line = dump_line(record).rstrip(b"\n")
    assert tl._canonical_flat_record(line) == record
    assert tl._canonical_flat_record(b'{"amount":1000 }') is None
    assert tl._canonical_flat_record(b'{"amount":-0}') is None
    assert tl._canonical_flat_record(b'{"amount":9223372036854775807}') == {"amount": 2**63 - 1}
    parsed = tl.parse_line(1, line)
    assert parsed.shape is None and parsed.fields == record and parsed.entry is not None


def _use(seq: int, prev_hash: str, amount: int) -> dict[str, Any]:
    return {
        "v": 1, "type": "use", "terminal_id": "T00000001", "seq": seq, "ts": f"2026-11-25T10:0{seq}:00+09:00",
        "merchant_id": "M00000001", "municipality_code": "121002", "mykey_id": "ABCD1234efgh",
        "amount": amount, "auth_id": f"A{seq:05d}", "card_cert_serial": "1001", "card_sig": "",
        "prev_hash": prev_hash,
    }


def _chain() -> list[dict[str, Any]]:
    first = _use(1, GENESIS_HASH, 1_000)
    first["hash"] = hashlib.sha256(canonical_bytes(first)).hexdigest()  # by hand: no hash, no term_sig
    second = _use(2, first["hash"], 250)
    second["hash"] = hashlib.sha256(canonical_bytes(second)).hexdigest()
    seal = make_seal("T00000001", 3, "2026-11-25T10:05:00+09:00", 2, second["hash"], TERMINAL_KEY)
    return [first, second, seal]


def _key() -> ed25519.Ed25519PublicKey:
    return load_terminal_public_key(terminal_public_key_b64(TERMINAL_KEY))


def test_hand_built_chain_verifies() -> None:
    records = _chain()
    assert records[1]["hash"] == record_hash(records[1])
    assert records[2]["hash"] == record_hash(records[2])  # the seal hash leaves out term_sig
    assert verify_chain(records, _key()) == []


def test_hash_ignores_hash_and_term_sig_only() -> None:
    record = _chain()[0]
    changed = dict(record, hash="f" * 64, term_sig="x")
    assert record_hash(changed) == record_hash(record)
    assert record_hash(dict(record, ts="2026-11-25T10:01:01+09:00")) != record_hash(record)


def _codes(records: list[dict[str, Any]],
           key: ed25519.Ed25519PublicKey | None = None) -> list[tuple[str, int]]:
    return [(p.code, p.line) for p in verify_chain(records, key or _key())]


def test_changed_amount() -> None:
    records = _chain()
    records[1]["amount"] = 2_500
    assert _codes(records) == [("terminal_hash_mismatch", 2)]


def test_broken_prev_hash() -> None:
    records = _chain()
    records[1]["prev_hash"] = "1" * 64
    finish_record(records[1])  # recomputed hash, so only the link is wrong ...
    records[2] = make_seal("T00000001", 3, records[2]["ts"], 2, records[1]["hash"], TERMINAL_KEY)
    assert _codes(records) == [("terminal_chain_broken", 2)]


def test_skipped_seq() -> None:
    records = _chain()
    records[1]["seq"] = 3
    finish_record(records[1])
    records[2] = make_seal("T00000001", 4, records[2]["ts"], 2, records[1]["hash"], TERMINAL_KEY)
    assert _codes(records) == [("terminal_seq_not_consecutive", 2)]


def test_wrong_seal_count() -> None:
    records = _chain()
    records[2] = make_seal("T00000001", 3, records[2]["ts"], 3, records[1]["hash"], TERMINAL_KEY)
    assert _codes(records) == [("terminal_seal_count_mismatch", 3)]


def test_forged_seal_signature() -> None:
    records = _chain()
    records[2] = make_seal("T00000001", 3, records[2]["ts"], 2, records[1]["hash"], OTHER_KEY)
    assert _codes(records) == [("terminal_seal_signature_invalid", 3)]
    assert _codes(_chain(), load_terminal_public_key(terminal_public_key_b64(OTHER_KEY))) == [
        ("terminal_seal_signature_invalid", 3)]


def test_missing_seal_and_unknown_key_and_empty() -> None:
    assert _codes(_chain()[:2]) == [("terminal_seal_missing", 2)]
    assert [(p.code, p.line) for p in verify_chain(_chain(), None)] == [("terminal_key_unknown", 3)]
    assert [p.code for p in verify_chain([], _key())] == ["terminal_file_empty"]


def test_seal_not_last() -> None:
    records = _chain()
    extra = _use(4, records[2]["hash"], 10)
    finish_record(extra)
    assert ("terminal_seal_not_last", 3) in _codes(records + [extra])


def test_card_message_fields() -> None:
    use = _chain()[0]
    message = json.loads(card_message(use))
    assert sorted(message) == sorted(["type", "terminal_id", "seq", "ts", "merchant_id", "municipality_code",
                                      "mykey_id", "amount", "auth_id"])
    cancel = dict(use, type="cancel", cancel_of="A00001")
    assert json.loads(card_message(cancel))["cancel_of"] == "A00001"


def test_card_signature(card_key: rsa.RSAPrivateKey) -> None:
    record = _chain()[0]
    record["card_sig"] = sign_card_message_with_key(card_key, record)
    assert verify_card_signature(card_key.public_key(), record)
    changed = copy.deepcopy(record)
    changed["amount"] = 1_001
    assert not verify_card_signature(card_key.public_key(), changed)
    # Fields outside the card message (prev_hash, hash) do not affect the card signature.
    assert verify_card_signature(card_key.public_key(), dict(record, prev_hash="2" * 64))
    assert not verify_card_signature(card_key.public_key(), dict(record, card_sig="not base64!"))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not verify_card_signature(other.public_key(), record)


# --- the parser: shape and value rules on hostile input ---------------------------------------------------
MY_NUMBER = "123456789018"  # check digit computed by hand: 11 - (sum of weights x digits) mod 11 = 8


def _signed_use(**changes: Any) -> dict[str, Any]:
    record = {**_use(1, GENESIS_HASH, 500), "card_sig": "c2lnbmF0dXJl", **changes}
    return finish_record(record)


def _line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def test_my_number_fixture_is_a_valid_my_number() -> None:
    from contracts.codes import is_my_number_digits

    assert is_my_number_digits(MY_NUMBER)


def test_a_good_use_parses_to_a_typed_record_with_ts_in_jst() -> None:
    record = _signed_use(ts="2026-11-25T01:15:03Z")
    parsed = tl.parse_line(7, tl.dump_line(record).rstrip(b"\n"))
    assert parsed.shape is None and parsed.values == ()
    entry = parsed.entry
    assert isinstance(entry, tl.TerminalRecord)
    assert (entry.seq, entry.amount, entry.cancel_of, entry.ts) == (1, 500, None, "2026-11-25T01:15:03Z")
    assert entry.ts_jst.utcoffset().total_seconds() == 9 * 3600
    assert (entry.ts_jst.hour, entry.ts_jst.day) == (10, 25)
    assert parsed.safe_text == canonical_bytes(record).decode()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[1, 2]", "terminal_record_invalid"),  # an array where an object is expected
        (b'"use"', "terminal_record_invalid"),
        (b"42", "terminal_record_invalid"),
        (b"null", "terminal_record_invalid"),
        (b"{torn", "terminal_json_invalid"),
        (b"[" * 5000 + b"]" * 5000, "terminal_json_invalid"),  # deeply nested
        (b'{"a":' * 2000 + b"1" + b"}" * 2000, "terminal_json_invalid"),
        (b'{"seq": 123456789012345678901234567890}', "terminal_json_invalid"),  # past 64 bits
        (b'{"seq": 9223372036854775808}', "terminal_json_invalid"),  # 2^63: 19 digits, still past BIGINT
        (b'{"seq": NaN}', "terminal_json_invalid"),
        (b'{"seq": -Infinity}', "terminal_json_invalid"),
        (b'{"seq": 1, "seq": 2}', "terminal_json_invalid"),  # duplicate keys
        (b'{"a": "\xff\xfe"}', "terminal_json_invalid"),  # not UTF-8
        (b'"' + b"x" * (tl.LINE_BYTES_MAX + 1) + b'"', "terminal_line_too_long"),
    ],
)
def test_hostile_lines_are_coded_never_raised(raw: bytes, code: str) -> None:
    parsed = tl.parse_line(1, raw)
    assert parsed.shape is not None and parsed.shape.code == code
    assert parsed.entry is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"seq": True}, "seq"),  # a bool is not an integer
        ({"amount": 500.0}, "amount"),  # integers only
        ({"seq": "1"}, "seq"),
        ({"auth_id": 5}, "auth_id"),
        ({"mykey_id": {"nested": "x"}}, "mykey_id"),
        ({"merchant_id": ["M00000001"]}, "merchant_id"),
        ({"auth_id": None}, "auth_id"),
        ({"v": 2}, "v"),
        ({"seq": 0}, "seq"),
        ({"terminal_id": "T1"}, "terminal_id"),
        ({"ts": "2026-11-25 10:00:00"}, "ts"),  # no offset
        ({"ts": "2026-02-30T10:00:00+09:00"}, "ts"),
        ({"hash": "AB" * 32}, "hash"),  # not lowercase
        ({"card_sig": "x" * (tl.STRING_CHARS_MAX + 1)}, "card_sig"),
        ({"auth_id": "\ud800"}, "auth_id"),  # a lone surrogate (written as an escape)
    ],
)
def test_shape_rules(changes: dict[str, Any], field: str) -> None:
    raw = json.dumps({**_signed_use(), **changes}).encode()
    parsed = tl.parse_line(1, raw)
    assert parsed.shape is not None and parsed.shape.code == "terminal_record_invalid"
    assert parsed.shape.column == field


def test_missing_extra_and_unknown_type() -> None:
    record = _signed_use()
    del record["auth_id"]
    assert tl.parse_line(1, _line(record)).shape.code == "terminal_record_invalid"
    assert tl.parse_line(1, _line({**_signed_use(), "extra": 1})).shape.code == "terminal_record_invalid"
    assert tl.parse_line(1, _line({**_signed_use(), "type": "refund"})).shape.column == "type"
    assert tl.parse_line(1, _line({**_signed_use(), "type": ["use"]})).shape.column == "type"


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({"amount": 10_000_000}, []),  # the cap itself is allowed
        ({"amount": 0}, []),
        ({"amount": 10_000_001}, ["amount_out_of_range"]),
        ({"amount": -1}, ["amount_signed"]),
        ({"amount": 2**63 - 1}, ["amount_out_of_range"]),
        ({"merchant_id": "X1"}, ["field_pattern"]),
        ({"municipality_code": "131010"}, ["municipality_code_check_digit"]),  # 13101's check digit is 6
        ({"mykey_id": "12345678"}, ["field_pattern"]),  # no letter
        ({"card_cert_serial": "xyz"}, ["field_pattern"]),
        ({"auth_id": ""}, ["field_required"]),
        ({"auth_id": "x" * 129}, ["field_pattern"]),
        ({"auth_id": "承認 #12-あ/ß ★"}, []),  # FORMATS gives auth_id no pattern: any text
        ({"auth_id": MY_NUMBER}, ["my_number_detected"]),
        ({"auth_id": "１２３４ー５６７８ー９０１８"}, ["my_number_detected"]),  # full-width, prolonged-sound dash
        ({"auth_id": "1234\u20125678\u20129018"}, ["my_number_detected"]),  # figure dash
        ({"auth_id": "1234\u30005678\u30009018"}, ["my_number_detected"]),  # ideographic space
        ({"auth_id": "\u246b3456789018"}, ["my_number_detected"]),  # ⑫: one character NFKC makes two digits
        ({"auth_id": "1234567890123"}, []),  # 13 digits: a corporate number, not a My Number
        ({"auth_id": "123456789019"}, []),  # wrong check digit
        ({"amount": 10_000_001, "merchant_id": "X"}, ["field_pattern", "amount_out_of_range"]),  # all kept
    ],
)
def test_value_rules(changes: dict[str, Any], codes: list[str]) -> None:
    parsed = tl.parse_line(1, _line(_signed_use(**changes)))
    assert parsed.shape is None
    assert [p.code for p in parsed.values] == codes


def test_cancel_needs_cancel_of_and_takes_any_text() -> None:
    cancel = _signed_use(type="cancel", cancel_of="元の承認 0001")
    parsed = tl.parse_line(1, _line(cancel))
    assert parsed.values == () and parsed.entry.cancel_of == "元の承認 0001"
    del cancel["cancel_of"]
    assert tl.parse_line(1, _line(cancel)).shape.code == "terminal_record_invalid"


def test_escaped_personal_number_is_stored_only_masked() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in MY_NUMBER)
    text = tl.dump_line(_signed_use(auth_id="A1")).decode().rstrip("\n").replace('"A1"', f'"{escaped}"')
    parsed = tl.parse_line(1, text.encode())
    assert [p.code for p in parsed.values] == ["my_number_detected"]
    assert MY_NUMBER not in parsed.safe_text and escaped not in parsed.safe_text
    assert json.loads(parsed.safe_text)["auth_id"] == MY_NUMBER_MASK
    assert all(MY_NUMBER not in p.detail for p in parsed.values)


def test_personal_numbers_are_masked_in_lines_that_fail_shape_rules_too() -> None:
    line = json.dumps({"type": "use", "note": "１２３４５６７８９０１８", MY_NUMBER: 1}).encode()
    parsed = tl.parse_line(1, line)
    assert parsed.shape is not None
    assert "１２３４５６７８９０１８" not in parsed.safe_text and MY_NUMBER not in parsed.safe_text


def test_a_personal_number_as_a_key_is_masked_in_the_detail_too() -> None:
    parsed = tl.parse_line(1, _line({**_signed_use(), "１２３４５６７８９０１８": 1}))
    assert parsed.shape is not None and "extra" not in parsed.shape.detail
    assert MY_NUMBER_MASK in parsed.shape.detail and "１２３４" not in parsed.shape.detail


def test_unparseable_lines_keep_only_plain_ascii() -> None:
    assert tl.parse_line(1, b'{"auth_id": "A1",').safe_text == '{"auth_id": "A1",'
    assert tl.parse_line(1, b'{"auth_id": "\\u0031234567890 18",').safe_text is None  # escapes: withheld
    assert tl.parse_line(1, '{"auth_id": "１２３４５６７８９０１８",'.encode()).safe_text is None


def test_bom_and_too_many_lines_are_file_problems() -> None:
    good = tl.dump_line(_signed_use())
    assert tl.parse_file(tl.BOM + good).problem.code == "terminal_json_invalid"
    assert tl.parse_file(good * 3, max_lines=2).problem.code == "file_too_many_rows"
    assert len(tl.parse_file(b"\n\r\n" + good + b"  \n").lines) == 1


def test_hostile_input_is_refused_in_linear_time() -> None:
    wide = b"{" + b",".join(b'"k%d":1' % i for i in range(100_000)) + b"}"
    huge = b'{"a":"' + b"x" * 10_000_000 + b'"}\n'
    escapes = b'"' + b'\\"' * 8000 + b"[" * 100
    started = time.perf_counter()
    for data in (wide, huge, escapes, b"[" * 16_000):
        parsed = tl.parse_file(data)
        assert parsed.lines[0].shape is not None
    assert time.perf_counter() - started < 0.5


def test_record_body_and_make_seal_build_what_the_parser_reads(card_key: rsa.RSAPrivateKey) -> None:
    body = tl.record_body("cancel", "T00000001", 1, "2026-11-25T10:00:00+09:00", "M00000001", "131016",
                          "resident01", 300, "A2", "1a2b", cancel_of="A1")
    body["card_sig"] = sign_card_message_with_key(card_key, body)
    body["prev_hash"] = GENESIS_HASH
    finish_record(body)
    seal = make_seal("T00000001", 2, "2026-11-25T20:00:00+09:00", 1, body["hash"], TERMINAL_KEY)
    parsed = tl.parse_file(tl.dump_line(body) + tl.dump_line(seal))
    assert [type(line.entry).__name__ for line in parsed.lines] == ["TerminalRecord", "TerminalSeal"]
    assert verify_chain([line.fields for line in parsed.lines], TERMINAL_KEY.public_key()) == []
    with pytest.raises(ValueError):
        tl.record_body("use", "T00000001", 1, "x", "M", "1", "k", 1, "a", "1", cancel_of="A1")
