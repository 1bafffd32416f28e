"""What a report never shows: card certificate serials (by field) and My Numbers."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import terminal_log
from contracts.schemas import PLATFORM_MYKEY_CERTS
from reports.redaction import (
    CERTIFICATE_FIELDS,
    SERIAL_MASK,
    WITHHELD_TEXT,
    redact_detail,
    redact_record_text,
)

# A My Number with a valid check digit (body 12345678901 → check digit 8), written as a fixture by hand.
MY_NUMBER = "123456789018"


def test_certificate_fields_are_the_contracts_own() -> None:
    contract_fields = set(terminal_log.USE_FIELDS) | set(PLATFORM_MYKEY_CERTS.column_names)
    assert CERTIFICATE_FIELDS <= contract_fields
    assert {"card_cert_serial", "cert_serial", "previous_serial", "cert_der"} == CERTIFICATE_FIELDS


def test_a_terminal_record_keeps_every_field_but_the_serial() -> None:
    record = {"amount": 200, "card_cert_serial": "a005000000d0", "mykey_id": "KRKUDC3Q1H", "seq": 3, "type": "use"}
    redacted = redact_record_text(json.dumps(record, separators=(",", ":")), "terminal", "terminal_log")
    assert json.loads(redacted.text) == {**record, "card_cert_serial": SERIAL_MASK}
    assert redacted.masked_values == {"a005000000d0"}
    detail = "seq 3: no registered, unrevoked certificate a005000000d0 of this MyKey ID at 2026-11-03 19:39:30"
    assert redact_detail(detail, redacted.masked_values) == detail.replace("a005000000d0", SERIAL_MASK)


def test_a_torn_terminal_line_is_withheld() -> None:
    torn = '{"amount":200,"card_cert_serial":"a0050'
    assert redact_record_text(torn, "terminal", "terminal_log").text == WITHHELD_TEXT
    assert redact_record_text("not json at all a0050", "terminal", "terminal_log").text == WITHHELD_TEXT
    assert redact_record_text('{"x": 1', "platform", "platform_ledger").text == WITHHELD_TEXT


def test_a_certificate_event_row_keeps_only_event_and_time() -> None:
    row = "KRKUDC3Q1H,a00500000010,MIIDjjCCAnagAwIBAgIHAKAF+/==,reissued,a00500000000,2026-11-02T10:00:00+09:00"
    redacted = redact_record_text(row, "platform", PLATFORM_MYKEY_CERTS.name)
    assert redacted.text == ",".join([SERIAL_MASK] * 3 + ["reissued", SERIAL_MASK, "2026-11-02T10:00:00+09:00"])
    assert {"a00500000010", "a00500000000"} <= redacted.masked_values


def test_other_csv_rows_are_shown_as_delivered_with_my_numbers_masked() -> None:
    row = f"2026-11-02,M12345678,{MY_NUMBER},1200"
    redacted = redact_record_text(row, "platform", "platform_ledger")
    assert redacted.text == "2026-11-02,M12345678,************,1200"
    assert redacted.masked_values == frozenset()


def test_a_detail_naming_a_serial_is_masked_without_its_record() -> None:
    assert redact_detail("certificate 1f of MyKey ID X is revoked") == f"certificate {SERIAL_MASK} of MyKey ID X " \
                                                                     "is revoked"
    assert redact_detail("cert_serial: ABCDEF0123") == f"cert_serial: {SERIAL_MASK}"
    assert redact_detail("certificate expired") == "certificate expired"


serials = st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=64)


@settings(max_examples=300, deadline=None)
@given(serial=serials, amount_yen=st.integers(min_value=0, max_value=10**7),
       nest=st.sampled_from(["top", "nested", "list"]))
def test_no_generated_serial_survives_in_a_json_record_or_its_detail(serial: str, amount_yen: int,
                                                                     nest: str) -> None:
    record: dict[str, object] = {"amount": amount_yen, "type": "use", "card_cert_serial": serial}
    if nest == "nested":
        record = {"outer": record}
    elif nest == "list":
        record = {"records": [record, {"cert_serial": serial}]}
    redacted = redact_record_text(json.dumps(record), "terminal", "terminal_log")
    assert set(_certificate_values(json.loads(redacted.text))) == {SERIAL_MASK}
    detail = redact_detail(f"seq 1: no registered, unrevoked certificate {serial} of this MyKey ID",
                           redacted.masked_values)
    assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(serial)}(?![0-9A-Za-z])", detail.split(":", 1)[1])


def _certificate_values(value: object) -> list[object]:
    """Every value under a certificate field name, at any depth (an independent walk of the output)."""
    if isinstance(value, dict):
        return [v for k, inner in value.items()
                for v in ([inner] if k in {"card_cert_serial", "cert_serial"} else _certificate_values(inner))]
    if isinstance(value, list):
        return [v for inner in value for v in _certificate_values(inner)]
    return []


@settings(max_examples=200, deadline=None)
@given(serial=serials, previous=serials, der=st.from_regex(r"[A-Za-z0-9+/]{4,40}={0,2}", fullmatch=True),
       mykey_id=st.from_regex(r"[A-Z0-9]{7}[A-Z]{3}", fullmatch=True))
def test_no_generated_serial_survives_in_a_certificate_row(serial: str, previous: str, der: str,
                                                           mykey_id: str) -> None:
    row = f"{mykey_id},{serial},{der},reissued,{previous},2026-11-02T10:00:00+09:00"
    redacted = redact_record_text(row, "platform", PLATFORM_MYKEY_CERTS.name)
    fields = redacted.text.split(",")
    assert fields[1] == fields[2] == fields[4] == SERIAL_MASK
    assert fields[3] == "reissued" and fields[5] == "2026-11-02T10:00:00+09:00"
