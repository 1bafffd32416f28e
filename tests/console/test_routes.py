"""Every page of the console as every role and as nobody (table-driven): who gets the page, who gets 404 — the
same answer as for something that does not exist — and what a municipality must never see."""

from __future__ import annotations

from console_world import CHIYODA, MYKEY_ID, PAY_DATE, RUN_DATE, SAPPORO, USERS

ROLES = [None, *USERS]
OK, NF, LOGIN = 200, 404, 303
ALL_OK = {name: OK for name in USERS}


def _expect(**by_name: int) -> dict[str | None, int]:
    return {None: LOGIN, **ALL_OK, **{k.replace("_", "-") if k.startswith("OFF") else k: v
                                      for k, v in by_name.items()}}


ONLY_ALL_SEEING = _expect(OFF_CHIYODA=NF, chiyoda=NF, sapporo=NF)
CHIYODAS = _expect(sapporo=NF)
SAPPOROS = _expect(OFF_CHIYODA=NF, chiyoda=NF)
NOT_MUNICIPALITIES = _expect(chiyoda=NF, sapporo=NF)
MUNICIPALITY_OF = {"chiyoda": CHIYODA, "sapporo": SAPPORO}
NOWHERE = {name: (LOGIN if name is None else NF) for name in ROLES}


def routes(world) -> list[tuple[str, dict[str | None, int]]]:
    pay = f"/payments/{PAY_DATE}"
    return [
        ("/today", _expect()), ("/today.json", _expect()), (f"/today?date={RUN_DATE}&lang=en", _expect()),
        (f"/today?municipality={SAPPORO}", SAPPOROS), (f"/today.json?municipality={SAPPORO}", SAPPOROS),
        (f"/today.json?municipality={CHIYODA}", CHIYODAS),
        ("/breaks", _expect()), ("/breaks?status=all", _expect()),
        (f"/breaks?municipality={SAPPORO}&status=all", SAPPOROS),
        (f"/breaks/{world.chiyoda_break}", CHIYODAS), (f"/breaks/{world.chiyoda_break}.json", CHIYODAS),
        (f"/breaks/{world.sapporo_break}", SAPPOROS), (f"/breaks/{world.sapporo_break}.json", SAPPOROS),
        (f"/breaks/{world.none_break}", ONLY_ALL_SEEING), ("/breaks/BRK-0000000000000000", NOWHERE),
        ("/payments", NOT_MUNICIPALITIES), (f"/payments?date={PAY_DATE}", NOT_MUNICIPALITIES),
        (f"{pay}/{world.chiyoda_file}", NOT_MUNICIPALITIES),
        (f"{pay}/{world.chiyoda_file}/download/file", NOT_MUNICIPALITIES),
        (f"{pay}/{world.chiyoda_file}/download/manifest", NOT_MUNICIPALITIES),
        (f"{pay}/{world.sapporo_file}", _expect(OFF_CHIYODA=NF, chiyoda=NF, sapporo=NF)),
        (f"{pay}/{world.sapporo_file}/download/manifest", _expect(OFF_CHIYODA=NF, chiyoda=NF, sapporo=NF)),
        (f"{pay}/nothing.txt", NOWHERE), (f"{pay}/{world.chiyoda_file}/download/other", NOWHERE),
        ("/reports", _expect()),
        (f"/reports/file/prepaid/2026-09-30/prepaid-2026-09-30-{CHIYODA}.pdf", CHIYODAS),
        (f"/reports/file/prepaid/2026-09-30/prepaid-2026-09-30-{SAPPORO}.pdf", SAPPOROS),
        ("/reports/file/prepaid/2026-09-30/prepaid-2026-09-30.pdf", ONLY_ALL_SEEING),
        (f"/reports/file/{PAY_DATE}/statements/PO-20261202-0001.pdf", CHIYODAS),
        (f"/reports/file/monthly/2026-11/{CHIYODA}/monthly-2026-11.pdf", CHIYODAS),
        (f"/reports/file/{RUN_DATE}/reconciliation-{RUN_DATE}.html", ONLY_ALL_SEEING),
        (f"/reports/file/{PAY_DATE}/payments/{world.chiyoda_file}", _expect(chiyoda=NF, sapporo=NF)),
        ("/reports/file/..%2Fsecret.txt", NOWHERE), ("/reports/file/%2E%2E/secret.txt", NOWHERE),
        (f"/reports/file/{RUN_DATE}/..%2F..%2Fsecret.txt", NOWHERE), ("/reports/file/%2Fetc%2Fpasswd", NOWHERE),
        ("/reports/file/prepaid/2026-09-30/missing.pdf", NOWHERE),
        ("/auditor", ONLY_ALL_SEEING), (f"/auditor?date={RUN_DATE}", ONLY_ALL_SEEING),
        (f"/auditor/data-docs/{RUN_DATE}/index.html", ONLY_ALL_SEEING),
        (f"/auditor/data-docs/{RUN_DATE}/..%2F..%2F..%2Fsecret.txt", NOWHERE),
        ("/auditor/data-docs/not-a-date/index.html", NOWHERE),
        ("/auditor/verify", ONLY_ALL_SEEING), ("/auditor/trace", ONLY_ALL_SEEING),
        (f"/auditor/trace?kind=break&id={world.chiyoda_break}", ONLY_ALL_SEEING),
        ("/auditor/trace?kind=nonsense&id=x", NOWHERE),
        ("/nothing-here", NOWHERE | {None: NF}),
    ]


def test_every_route_as_every_role(world, client_as) -> None:
    """One table: route × role → status. A municipality asking for another's page, break, file or JSON gets 404,
    and no page a municipality gets shows a MyKey ID or another municipality's code."""
    wrong = []
    for path, expected in routes(world):
        for name in ROLES:
            response = client_as(name).get(path, follow_redirects=False)
            if response.status_code != expected[name]:
                wrong.append(f"{path} as {name}: {response.status_code}, expected {expected[name]}")
            if name is None and expected[name] == LOGIN:
                assert response.headers["location"] == "/login"
            if name in MUNICIPALITY_OF:
                other = SAPPORO if MUNICIPALITY_OF[name] == CHIYODA else CHIYODA
                assert MYKEY_ID not in response.text, f"{path} showed a MyKey ID to {name}"
                assert other not in response.text.replace(path, "").replace("lang=en", ""), \
                    f"{path} showed {other} to {name}"
    assert wrong == []


def test_officers_and_auditors_see_break_keys_and_lineage(world, client_as) -> None:
    for name in ("OFF-KATO", "OFF-CHIYODA", "audit"):
        page = client_as(name).get(f"/breaks/{world.chiyoda_break}").text
        assert MYKEY_ID in page and "platform/platform_ledger_20261105.csv" in page
    page = client_as("chiyoda").get(f"/breaks/{world.chiyoda_break}").text
    assert "[ID]" in page and "platform_ledger_20261105" not in page and 'id="resolve"' not in page


def test_today_shows_the_gate_files_breaks_and_chart(world, client_as) -> None:
    page = client_as("OFF-KATO").get("/today?lang=ja").text
    assert "停止（支払不可）" in page and "partner/payments" in page and "balance_drift" in page
    assert "<svg" in page and "千代田区" in page and "札幌市" in page
    assert "（前日: 開放（支払可））" in page  # yesterday's gates were open
    english = client_as("OFF-KATO").get("/today?lang=en").text
    assert "blocked (no payment)" in english and "expected files not arrived" in english
    assert "Breaks by code" in client_as("OFF-KATO").get("/today").text  # the language is kept
    assert "差異コード別" in client_as("OFF-KATO").get("/today?lang=ja").text
    figures = client_as("chiyoda").get("/today.json").json()
    assert [m["code"] for m in figures["municipalities"]] == [CHIYODA]
    assert figures["municipalities"][0]["gate_status"] == "blocked"


def test_pages_carry_security_headers(client_as) -> None:
    response = client_as("OFF-KATO").get("/today")
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    download = client_as("chiyoda").get(f"/reports/file/prepaid/2026-09-30/prepaid-2026-09-30-{CHIYODA}.pdf")
    assert download.headers["content-security-policy"].startswith("sandbox")


def test_reports_list_only_the_accounts_own_files(world, client_as) -> None:
    listed = client_as("chiyoda").get("/reports").text
    assert f"prepaid-2026-09-30-{CHIYODA}.pdf" in listed and "PO-20261202-0001.pdf" in listed
    assert f"prepaid-2026-09-30-{SAPPORO}" not in listed and "prepaid-2026-09-30.pdf" not in listed
    assert "reconciliation-" not in listed and ".txt" not in listed
    everything = client_as("audit").get("/reports").text
    assert "prepaid-2026-09-30.pdf" in everything and f"reconciliation-{RUN_DATE}.html" in everything


def test_payments_page_shows_totals_fees_and_the_signing_command(world, client_as) -> None:
    page = client_as("OFF-KATO").get(f"/payments/{PAY_DATE}/{world.chiyoda_file}").text
    assert "128,456" in page or "123,456" in page
    assert "PO-20261202-0001" in page and "M00000002" in page
    assert f"seisan payments sign-approval {world.chiyoda_file} --officer OFF-KATO" in page
    assert 'id="approve"' in page
    assert 'id="approve"' not in client_as("audit").get(f"/payments/{PAY_DATE}/{world.chiyoda_file}").text
    listing = client_as("OFF-CHIYODA").get("/payments").text
    assert world.chiyoda_file in listing and world.sapporo_file not in listing


def test_an_auditor_traces_a_break_to_its_inbox_line_and_verifies_the_trail(world, client_as) -> None:
    page = client_as("audit").get(f"/auditor/trace?kind=break&id={world.chiyoda_break}&lang=en").text
    assert world.chiyoda_break in page and "platform/platform_ledger_20261105.csv" in page
    verified = client_as("audit").get("/auditor/verify").text
    assert "OK — both chains recompute" in verified and "audit.step_runs" in verified
