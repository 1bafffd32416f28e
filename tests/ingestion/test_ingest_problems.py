"""One problem type, every problem of a record kept: raw.quarantine.reason_code is the first problem's code,
reason_codes every distinct code in check order (contracts.validation's documented order)."""

from __future__ import annotations

from ingestion_builders import csv_of, run, sale_row, write

SALES = "partner/ACME/ACME_sales_20261125.csv"


def test_every_problem_of_a_row_is_kept_in_check_order(con, tmp):
    rows = [
        sale_row(order_id="O1"),
        # stage 2 (order_id required), then stage 4 in column order: points_used, then status
        sale_row(order_id="", points_used="1.5", status="bogus"),
        sale_row(order_id="O3", merchant_id="M99999999"),  # stage 7 alone
    ]
    write(tmp / "inbox", SALES, csv_of("partner_sales", rows))
    run(con, tmp)
    quarantined = con.execute(
        "SELECT line_number, reason_code, reason_codes FROM raw.quarantine WHERE path = ? ORDER BY 1", [SALES]
    ).fetchall()
    assert quarantined == [
        (3, "field_required", ["field_required", "amount_not_integer", "field_enum"]),
        (4, "merchant_unknown", ["merchant_unknown"]),
    ]


def test_a_whole_file_rejection_has_its_one_code(con, tmp):
    write(tmp / "inbox", "platform/notes.txt", b"hello")
    run(con, tmp)
    assert con.execute("SELECT reason_code, reason_codes FROM raw.quarantine").fetchall() == [
        ("file_unknown_kind", ["file_unknown_kind"])
    ]
