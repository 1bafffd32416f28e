"""payments.files: a PaymentBatch as Zengin 総合振込 bytes and its manifest.

The expected bytes are typed out field by field from the layout tables (domain/zengin.md §2), not taken from the
writer; a golden file pins them too. Every file written is read back with contracts.zengin_transfer's
independent reader and compared with the batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import payfile_builders as b
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.zengin_transfer import read_transfer_file
from payments.files import (
    PaymentFileError,
    check_payout_id,
    file_name_for,
    manifest_bytes,
    render_payment_file,
    render_transfer_bytes,
    write_atomically,
    zengin_name,
)
from payments.model import PaymentBatch

GOLDEN = Path(__file__).parent / "golden" / "small_batch.txt"


def c(text: str, width: int) -> bytes:
    """A C field typed by hand: CP932 text, space-filled."""
    data = text.encode("cp932")
    assert len(data) <= width
    return data + b" " * (width - len(data))


def expected_small_batch() -> bytes:
    header = (b"1" + b"21" + b"0" + b"1234567890" + c("ﾁﾖﾀﾞｸ ﾎﾟｲﾝﾄｼﾞﾑ", 40) + b"1202" + b"0001" + b" " * 15
              + b"004" + b" " * 15 + b"1" + b"7654321" + b" " * 17)
    data1 = (b"2" + b"0005" + b" " * 15 + b"123" + b" " * 15 + b"0000" + b"1" + b"1234567"
             + c("ｶ)ﾔﾏﾀﾞｼﾖｳﾃﾝ", 30) + b"0000123456" + b"0" + c("PO-20261202-0001", 20) + b"7" + b"Y" + b" " * 7)
    # payee bears the 440 yen fee: 5,000 - 440 = 4,560 transferred; account 89 zero-filled to 7 digits
    data2 = (b"2" + b"0009" + b" " * 15 + b"045" + b" " * 15 + b"0000" + b"2" + b"0000089"
             + c("ｽｽﾞｷ ﾊﾅｺ", 30) + b"0000004560" + b"0" + c("PO-20261202-0002", 20) + b"7" + b"Y" + b" " * 7)
    trailer = b"8" + b"000002" + b"000000128016" + b" " * 101  # 123,456 + 4,560
    end = b"9" + b" " * 119
    records = [header, data1, data2, trailer, end]
    assert all(len(r) == 120 for r in records)
    return b"".join(r + b"\r\n" for r in records)


def test_small_batch_bytes_are_the_hand_typed_records_and_the_golden_file():
    data = render_transfer_bytes(b.small_batch())
    assert data == expected_small_batch()
    assert data == GOLDEN.read_bytes()


def test_file_name_is_municipality_transfer_date_batch_id():
    assert file_name_for(b.small_batch()) == "131016_2026-12-02_B-131016-20261202-1.txt"
    with pytest.raises(PaymentFileError, match="batch id"):
        file_name_for(replace(b.small_batch(), batch_id="../evil"))


def test_manifest_holds_formats_fields_and_the_auditors():
    batch = b.small_batch()
    rendered = render_payment_file(batch, "OFF-SATO")
    m = rendered.manifest
    assert m["file_sha256"] == hashlib.sha256(expected_small_batch()).hexdigest()
    assert (m["record_count"], m["total"], m["prepared_by"], m["approved_by"]) == (2, 128_016, "OFF-SATO", None)
    assert m["signature"] == {}
    assert (m["batch_id"], m["municipality_code"], m["transfer_date"], m["business_date"]) == (
        "B-131016-20261202-1", "131016", "2026-12-02", "2026-11-30")
    assert m["payout_ids"] == ["PO-20261202-0001", "PO-20261202-0002"]
    # fees: 330 borne by the municipality, 440 deducted from the merchant; owed 123,456 + 5,000
    assert (m["fee_total_yen"], m["fee_payer_yen"], m["fee_payee_yen"], m["amount_total_yen"]) == (
        770, 330, 440, 128_456)
    assert rendered.manifest_name == "131016_2026-12-02_B-131016-20261202-1.manifest.json"
    assert json.loads(manifest_bytes(m)) == m
    assert manifest_bytes(m) == manifest_bytes(render_payment_file(batch, "OFF-SATO").manifest)


HOLDERS = st.text(alphabet="アイウカガキギパピヤユヨツャュョッーあいうがぱABCXYZ0123 ().-", min_size=1, max_size=12)


@st.composite
def batches(draw) -> PaymentBatch:
    count = draw(st.integers(1, 12))
    payouts = []
    for n in range(count):
        amount = draw(st.integers(1_000, 9_999_999))
        fee = draw(st.sampled_from([0, 110, 220, 330, 440, 660]))
        payouts.append(b.payout(
            f"PO-{n:04d}-{draw(st.integers(0, 999999)):06d}", f"M{n:08d}", draw(HOLDERS).strip() or "ｱ", amount,
            fee, draw(st.sampled_from(["payer", "payee"])), bank_code=f"{draw(st.integers(1, 9999)):04d}",
            branch_code=f"{draw(st.integers(0, 999)):03d}", account_type=draw(st.sampled_from([1, 2, 4, 9])),
            account_number=str(draw(st.integers(1, 9_999_999)))))
    payouts.sort(key=lambda p: p.payout_id)
    return PaymentBatch("B-PROP", b.MUNICIPALITY, b.BUSINESS_DATE, b.TRANSFER_DATE, b.PAYER, tuple(payouts))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_every_file_reads_back_with_the_independent_reader(batch):
    data = render_transfer_bytes(batch)
    read = read_transfer_file(data)
    assert read.problems == ()
    records = read.file.records
    assert [r.edi for r in records] == [p.payout_id for p in batch.payouts]
    assert [r.amount for r in records] == [p.transfer_yen for p in batch.payouts]
    assert [(r.bank_code, r.branch_code, r.account_type, r.account_number) for r in records] == [
        (p.payee.bank_code, p.payee.branch_code, p.payee.account_type, p.payee.account_number.zfill(7))
        for p in batch.payouts]
    assert read.file.total == sum(p.amount_yen - (p.fee_yen if p.fee_bearer == "payee" else 0)
                                  for p in batch.payouts)
    assert read.file.count == len(batch.payouts)
    assert read.file.header.transfer_mmdd == "1202"
    assert all(len(line) == 120 for line in data.split(b"\r\n")[:-1])


@pytest.mark.parametrize(("registered", "zengin"), [
    ("やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),                 # hiragana, ideographic space
    ("シーサイド", "ｼ-ｻｲﾄﾞ"),                      # long vowel -> '-'
    ("キャッシュレス・ポイント", "ｷﾔﾂｼﾕﾚｽ.ﾎﾟｲﾝﾄ"),   # small kana enlarged, middle dot -> '.'
    ("ｶ)ﾔﾏﾀﾞ", "ｶ)ﾔﾏﾀﾞ"),                          # already Zengin: unchanged
    ("ａｂｃ　ＳＨＯＰ１", "ABC SHOP1"),             # full-width ASCII, lower case -> upper
    ("ヴィクトリー", "ｳﾞｲｸﾄﾘ-"),
])
def test_names_become_zengin_kana(registered, zengin):
    assert zengin_name(registered, "payee") == zengin


@pytest.mark.parametrize("registered", ["ヲタク", "山田", "SHOP,INC", "A&B", "  "])
def test_names_a_bank_refuses_are_refused_not_repaired(registered):
    with pytest.raises(PaymentFileError):
        zengin_name(registered, "payee")


def test_a_name_too_long_is_refused_never_truncated():
    fits = "ガ" * 15  # ｶﾞ is two bytes: 30 bytes, exactly the field
    batch = b.small_batch()
    ok = replace(batch, payouts=(replace(batch.payouts[0], payee=replace(batch.payouts[0].payee, holder_kana=fits)),
                                 batch.payouts[1]))
    assert render_transfer_bytes(ok)[120 + 2 + 50:120 + 2 + 80] == ("ｶﾞ" * 15).encode("cp932")
    too_long = replace(batch, payouts=(
        replace(batch.payouts[0], payee=replace(batch.payouts[0].payee, holder_kana=fits + "ア")), batch.payouts[1]))
    with pytest.raises(PaymentFileError, match="do not fit"):
        render_transfer_bytes(too_long)


@pytest.mark.parametrize("payout_id", ["PO-1", "A" * 20, "2026-12-02-0001", "1234567890123", "12345678901"])
def test_payout_ids_fit_for_edi(payout_id):
    check_payout_id(payout_id)


@pytest.mark.parametrize("payout_id", ["123456789018", "1234-5678-9018", "123456789012", "1234 5678 9018",
                                       "po-1", "A" * 21, "", "PO_1", "ＰＯ１"])
def test_payout_ids_never_12_digits_nor_outside_edi(payout_id):
    with pytest.raises(PaymentFileError):
        check_payout_id(payout_id)


def _with_payouts(*payouts) -> PaymentBatch:
    return replace(b.small_batch(), payouts=tuple(payouts))


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: [replace(p[0], transfer_yen=p[0].transfer_yen - 1), p[1]], "transfer_yen"),
    (lambda p: [p[0], replace(p[1], transfer_yen=5_000)], "minus the fee"),
    (lambda p: [p[1], p[0]], "payout_id order"),
    (lambda p: [p[0], replace(p[1], payout_id=p[0].payout_id)], "twice"),
    (lambda p: [p[0], replace(p[1], municipality_code="271004")], "belongs to"),
    (lambda p: [p[0], replace(p[1], transfer_date=dt.date(2026, 12, 3))], "belongs to"),
    (lambda p: [p[0], replace(p[1], fee_bearer="merchant")], "fee bearer"),
    (lambda p: [p[0], replace(p[1], amount_yen=440, transfer_yen=0)], "carried forward"),
    (lambda p: [], "no payouts"),
])
def test_inconsistent_batches_are_refused(change, message):
    with pytest.raises(PaymentFileError, match=message):
        render_transfer_bytes(_with_payouts(*change(b.small_batch().payouts)))


def test_write_atomically_leaves_the_file_and_no_temporary(tmp_path):
    target = tmp_path / "out" / "f.txt"
    write_atomically(target, b"one")
    write_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.txt"]
