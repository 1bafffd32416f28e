"""Issue 7 §1, valid data is never refused: a property over every CSV kind. Starting from a valid row of
the kind, any value FORMATS.md allows in a column — any text (Japanese, spaces, symbols, emoji) in a column
it gives no shape, any string of the shape it sets for the others — keeps the row valid. Pure validation (no
masters: referential checks are FORMATS.md's own rule about other files)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.codes import looks_like_my_number, municipality_check_digit
from contracts.schemas import (
    ACCOUNT_NUMBER,
    BANK_CODE,
    BRANCH_CODE,
    CLIENT_CODE,
    CSV_KINDS_BY_NAME,
    HEX_SERIAL,
    MERCHANT_ID,
    MYKEY_ID,
    PARTNER_CODE,
    REF_MAX_CHARS,
    REFERENCE,
    TERMINAL_ID,
    ColumnType,
)
from contracts.validation import RowContext, validate_row

D = dt.date(2026, 11, 25)
MUNI = "13101" + municipality_check_digit("13101")
VALID_ROWS = {
    "platform_ledger": dict(event_id="E1", event_ts="2026-11-25T10:00:00+09:00", municipality_code=MUNI,
                            program_code="P1", mykey_id="resident01", event_type="grant", amount="500",
                            merchant_id="", terminal_id="", auth_id="A1", cancel_of="", lot_event_id="L1",
                            channel="batch", partner_code="ACME", partner_txn_id="X1", payment_ref="R1"),
    "platform_balances": dict(municipality_code=MUNI, program_code="P1", mykey_id="resident01", balance="5"),
    "partner_sales": dict(order_id="O1", order_ts="2026-11-25T12:00:00+09:00", mykey_id="resident01",
                          municipality_code=MUNI, merchant_id="M00000001", points_used="300", status="captured"),
    "partner_conversion": dict(partner_txn_id="C1", txn_ts="2026-11-25T09:00:00+09:00", mykey_id="resident01",
                               municipality_code=MUNI, partner_points="100", municipal_points="100",
                               amount_due_yen="100", status="applied"),
    "partner_settlement": dict(payment_ref="R1", charged_at="2026-11-25T09:00:00+09:00", municipality_code=MUNI,
                               amount="1000", fee="30", net="970", deposit_date="2026-11-30"),
    "master_merchants": dict(merchant_id="M00000001", name="八百屋", name_kana="ﾔｵﾔ", category="food",
                             channel="store", bank_code="0001", branch_code="002", account_type="1",
                             account_number="7654321", account_holder_kana="ﾔｵﾔ", status="active"),
    "master_programs": dict(program_code="P1", municipality_code=MUNI, name="給付", kind="benefit",
                            funding="municipal_budget", expiry="days:365", annual_cap_per_person=""),
    "master_partners": dict(partner_code="ACME", name="n", kind="airline", encoding="utf-8", payer_name_kana="ｱ"),
    "master_cost_rates": dict(item="ledger_event", unit="event", yen_per_unit="0.3"),
    "platform_mykey_certs": dict(mykey_id="resident01", cert_serial="1a2b", cert_der="QUJD", event="registered",
                                 previous_serial="", event_ts="2026-11-02T09:00:00+09:00"),
}
SHAPED = {MERCHANT_ID, TERMINAL_ID, PARTNER_CODE, MYKEY_ID, HEX_SERIAL, BANK_CODE, BRANCH_CODE, ACCOUNT_NUMBER,
          CLIENT_CODE}
# any character but controls (C0, DEL, C1) and the bidirectional embeddings/overrides/isolates
_REFUSED = set(range(0x20)) | set(range(0x7F, 0xA0)) | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
free_text = st.text(
    st.characters(blacklist_categories=("Cs",)).filter(lambda c: ord(c) not in _REFUSED), min_size=1, max_size=40
).filter(lambda t: not looks_like_my_number(t))
# some hand-picked shapes Hypothesis rarely draws: full Japanese, spaces only, symbols, formula-like
free_text = st.one_of(free_text, st.sampled_from(["注文 #1/2", "   ", "=SUM(A1)", "-1", "@x", "a,b\"c", "👍🏽",
                                                  "x" * REF_MAX_CHARS]))


def _cases() -> list[tuple[str, str]]:
    cases = []
    for kind_name in VALID_ROWS:
        for column in CSV_KINDS_BY_NAME[kind_name].columns:
            if column.type is ColumnType.TEXT or column.pattern == REFERENCE or column.pattern in SHAPED:
                cases.append((kind_name, column.name))
    return cases


@pytest.mark.parametrize(("kind_name", "column_name"), _cases())
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_value_formats_allows_keeps_a_valid_row_valid(kind_name: str, column_name: str, data) -> None:
    kind = CSV_KINDS_BY_NAME[kind_name]
    column = kind.column(column_name)
    row = VALID_ROWS[kind_name]
    assert validate_row(kind, row, RowContext(D))[1] == []
    if column.type is ColumnType.TEXT or column.pattern == REFERENCE:
        value = data.draw(free_text)
    else:
        value = data.draw(st.from_regex(column.pattern, fullmatch=True).filter(lambda t: not looks_like_my_number(t)))
    if column_name == "cancel_of":
        row = {**row, "event_type": "cancel", "program_code": "", "merchant_id": "M00000001", "channel": "online"}
    if column_name == "merchant_id" and kind_name == "platform_ledger":
        row = {**row, "event_type": "use", "program_code": "", "channel": "exchange"}
    if column_name == "terminal_id":
        row = {**row, "event_type": "use", "program_code": "", "channel": "terminal", "merchant_id": "M00000001"}
    if column_name == "previous_serial":
        row = {**row, "event": "reissued"}
    problems = validate_row(kind, {**row, column_name: value}, RowContext(D))[1]
    assert problems == [], (value, problems)
