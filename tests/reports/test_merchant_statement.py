"""The merchant settlement statement: hand-computed figures (statement_world's docstring), the PDF's text and
fonts, what it must never show, the refusal of a statement that does not add up, and byte-identical reruns."""

from __future__ import annotations

import re

import pytest
from pdf_checks import assert_only_embedded_ipaexgothic, pdf_text
from statement_world import ACCOUNTS, D, world

from reports.merchant_statement import (
    StatementError,
    mask_account_number,
    payout_ids_of_day,
    render_statement_pdf,
    statement_figures,
    write_statements,
)


@pytest.fixture(scope="module")
def con():
    connection = world()
    yield connection
    connection.close()


def test_figures_equal_the_hand_computed_ones(con) -> None:
    a = statement_figures(con, "PO-A")
    assert (a.merchant_name, a.municipality_name, a.transfer_date.isoformat()) == ("山田商店", "津市", "2026-12-01")
    assert (a.use_count, a.use_yen, a.cancel_count, a.cancel_yen, a.items_yen) == (6, 38_500, 1, 2_000, 36_500)
    assert (a.held_yen, a.adjustments_yen, a.carried_in_yen, a.carried_out_yen) == (1_500, 800, 51, 0)
    assert (a.fee_yen, a.fee_deducted_yen, a.amount_yen, a.transfer_yen) == (770, 770, 35_851, 35_081)
    assert [(p.period_start_date.day, p.payable_yen, p.held_yen) for p in a.periods] == [(1, 10_000, 1_500),
                                                                                          (8, 25_000, 0)]
    assert [(x.seq, x.amount_yen) for x in a.adjustments] == [(1, 800)]
    b = statement_figures(con, "PO-B")
    assert (b.items_yen, b.cancel_count, b.carried_out_yen, b.fee_deducted_yen, b.transfer_yen) == (
        30_600, 2, 51, 550, 29_999)
    c = statement_figures(con, "PO-C")
    assert (c.fee_yen, c.fee_deducted_yen, c.transfer_yen) == (440, 0, 50_000)


def test_a_returned_payout_paid_again(con) -> None:
    d = statement_figures(con, "PO-D")
    assert (d.periods, d.items_yen, d.carried_in_yen, d.fee_deducted_yen, d.transfer_yen) == ((), 0, 7_000, 0, 7_000)
    r = statement_figures(con, "PO-R")
    assert (r.state, r.repaid_by_payout_id, r.items_yen, r.transfer_yen) == ("requeued", "PO-D", 7_000, 7_000)
    text = pdf_text(render_statement_pdf(r))
    assert "振込不能で返却されました。振込ID PO-D で再振込しています。" in text.replace("\n", "")
    d_text = pdf_text(render_statement_pdf(d))
    assert "前回からの繰越" in d_text and "振込不能で返却" not in d_text


def test_day_lists_every_payout_of_its_payment_files(con) -> None:
    assert payout_ids_of_day(con, D) == ["PO-A", "PO-B", "PO-C", "PO-D"]
    assert payout_ids_of_day(con, D.replace(day=29)) == []


def test_unknown_payout_is_one_sentence(con) -> None:
    with pytest.raises(StatementError, match="payout PO-NONE is not in payments.payouts"):
        statement_figures(con, "PO-NONE")


def test_a_statement_that_does_not_add_up_is_refused() -> None:
    broken = world()
    broken.execute("update payments.payouts set transfer_yen = transfer_yen + 1 where payout_id = 'PO-A'")
    with pytest.raises(StatementError, match=r"does not add up .* not the 35082 yen transferred"):
        statement_figures(broken, "PO-A")
    broken.execute("update payments.payout_items set amount_yen = 9_999 where source_id = 'ST-A1'")
    with pytest.raises(StatementError, match="statement sources to 34999 yen"):
        statement_figures(broken, "PO-A")


def test_account_numbers_are_masked() -> None:
    assert mask_account_number("1234567") == "****567"
    assert mask_account_number("89") == "**"
    assert mask_account_number("12345") == "***45"


def test_pdf_shows_the_amounts_the_payout_id_and_only_embedded_ipaexgothic(con) -> None:
    data = render_statement_pdf(statement_figures(con, "PO-A"))
    text = pdf_text(data)
    for expected in ("精算明細書", "PO-A", "山田商店", "M00000001", "津市", "38,500円", "-2,000円", "36,500円",
                     "-1,500円", "800円", "51円", "-770円", "35,081円", "令和8年12月1日 (2026-12-01)", "****567"):
        assert expected in text, expected
    assert_only_embedded_ipaexgothic(data)


def test_pdf_never_shows_a_full_account_number_or_a_twelve_digit_number(con) -> None:
    for payout_id in ("PO-A", "PO-B", "PO-C", "PO-D", "PO-R"):
        s = statement_figures(con, payout_id)
        text = pdf_text(render_statement_pdf(s))
        assert ACCOUNTS[s.merchant_id] not in text.replace(" ", "")
        assert not re.search(r"(?<![0-9])[0-9]{12}(?![0-9])", text.replace(" ", "").replace("-", ""))


def test_payer_borne_fee_is_shown_but_not_deducted(con) -> None:
    text = pdf_text(render_statement_pdf(statement_figures(con, "PO-C")))
    assert "振込手数料 440円 は自治体負担" in text and "50,000円" in text


def test_written_under_the_day_and_rerun_is_byte_identical(con, tmp_path) -> None:
    paths = write_statements(con, tmp_path, payout_ids_of_day(con, D))
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        f"2026-11-30/statements/PO-{x}.pdf" for x in "ABCD"]
    first = [p.read_bytes() for p in paths]
    again = write_statements(con, tmp_path, ["PO-A", "PO-B", "PO-C", "PO-D"])
    assert [p.read_bytes() for p in again] == first
    assert sorted(p.name for p in (tmp_path / "2026-11-30" / "statements").iterdir()) == [
        "PO-A.pdf", "PO-B.pdf", "PO-C.pdf", "PO-D.pdf"]  # no temporary file left behind
    assert write_statements(con, tmp_path, ["PO-R"]) == [tmp_path / "2026-11-20" / "statements" / "PO-R.pdf"]


def test_a_my_number_typed_into_a_master_name_is_masked() -> None:
    con = world()
    con.execute("update marts.dim_merchants set name = '山田商店 123456789018' where merchant_id = 'M00000001'")
    text = pdf_text(render_statement_pdf(statement_figures(con, "PO-A")))
    assert "123456789018" not in text and "山田商店" in text
