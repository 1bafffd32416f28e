"""A small, hand-built home for the console's tests: two municipalities (011002 Sapporo-ish, 131016 Chiyoda-ish),
a break store synced from engine-shaped findings, the gate decided, payment files prepared and signed, report
files under out/, and one account per role. Built once per module in well under a second.

What a municipality must never see is planted on purpose: a MyKey ID as a break key and inside an expected
value of 131016's break, and 011002's own breaks, files and payment file.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from audit import StepRun, record_step_run
from audit.outputs import ensure_outputs
from console import accounts
from console.app import create_app
from console.security import ConsoleConfig
from ingestion.schema import ensure_raw_schema
from payments.file_steps import prepare_batches
from payments.schema import ensure_schema
from reconciliation.breaks import ensure_break_store, sync_breaks
from reconciliation.gate import decide_gates
from seisan.config import load_settings

TESTS = Path(__file__).resolve().parents[1]
for folder in ("reconciliation", "payments"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))
from findings_table import Finding, write_findings  # noqa: E402
from payfile_builders import big_batch, make_officers, small_batch  # noqa: E402
from recon_tables import GATE_INPUTS_DDL  # noqa: E402

RUN_DATE = dt.date(2026, 11, 5)
PAY_DATE = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 5, 21, 30, tzinfo=dt.UTC)
SAPPORO, CHIYODA = "011002", "131016"
MYKEY_ID = "MK7QX2P9LA3Z"  # a MyKey-shaped id: 12 letters and digits
SHA = "c0ffee" + "0" * 58
PASSWORD = "correct horse battery staple"
SECRET = "test-secret-" + "x" * 40

# One break of Chiyoda keyed by a MyKey ID (what a municipality must never see), one of Sapporo, one of Sapporo
# still pending, one naming no municipality (counts for every municipality: all-seeing accounts only).
CHIYODA_BREAK = Finding(MYKEY_ID, municipality_code=CHIYODA, break_code="balance_drift", amount_at_risk_yen=1500,
                        expected=f"balance of {MYKEY_ID} 1500", actual="0", file_sha256=SHA, line_number=7,
                        business_date=RUN_DATE)
SAPPORO_BREAK = Finding("AUTH-0002", municipality_code=SAPPORO, amount_at_risk_yen=800, business_date=RUN_DATE)
SAPPORO_PENDING = Finding("AUTH-0003", municipality_code=SAPPORO, status="pending", amount_at_risk_yen=300,
                          business_date=RUN_DATE)


USERS = {
    # name: (role, codes)
    "OFF-KATO": ("officer", ["*"]),          # approver in the payments registry, sees every municipality
    "OFF-CHIYODA": ("officer", [CHIYODA]),   # an office settling Chiyoda only
    "chiyoda": ("municipality", [CHIYODA]),
    "sapporo": ("municipality", [SAPPORO]),
    "audit": ("auditor", []),
}


@dataclass(frozen=True, slots=True)
class World:
    home: Path
    key_dir: Path
    chiyoda_break: str
    sapporo_break: str
    none_break: str
    chiyoda_file: str
    sapporo_file: str


def fast_hashing() -> None:
    """argon2 at its cheapest for tests (the console's own default stays argon2-cffi's)."""
    accounts._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts._DUMMY_HASH = accounts._HASHER.hash("dummy")


def _warehouse(home: Path) -> tuple[str, str, str]:
    none_break = Finding("AUTH-0009", municipality_code=None, amount_at_risk_yen=0, business_date=RUN_DATE)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        ensure_raw_schema(con)
        con.execute("insert into raw.file_manifest (file_sha256, path, source, kind, business_date, status, "
                    "ingested_at) values (?, 'platform/platform_ledger_20261105.csv', 'platform', 'ledger', ?, "
                    "'loaded', timestamp '2026-11-05 01:00:00')", [SHA, RUN_DATE])
        ensure_break_store(con)
        con.execute(GATE_INPUTS_DDL)
        for code, name in ((SAPPORO, "札幌市"), (CHIYODA, "千代田区")):
            con.execute("insert into marts.dim_municipalities values (?, ?, ?, date '2026-01-01', null)",
                        [f"v-{code}", code, name])
            con.execute("insert into recon.source_freshness values (?, 'platform', 'ledger', ?, true, true, ?)",
                        [RUN_DATE, code, RUN_DATE])
            con.execute("insert into recon.check_results values (?, 'raw', 'rows_not_null', 'raw.platform_ledger', "
                        "?, 'error', true, '0', 0, '')", [RUN_DATE, code])
        con.execute("insert into recon.source_freshness values (?, 'partner', 'payments', ?, true, false, null)",
                    [RUN_DATE, SAPPORO])  # Sapporo's partner file has not arrived: its gate stays blocked
        write_findings(con, RUN_DATE - dt.timedelta(days=1), [])
        sync_breaks(con, RUN_DATE - dt.timedelta(days=1), now=NOW)
        write_findings(con, RUN_DATE, [CHIYODA_BREAK, SAPPORO_BREAK, SAPPORO_PENDING, none_break])
        sync_breaks(con, RUN_DATE, now=NOW)
        con.execute("update recon.match_summary set municipality_code = ? ", [SAPPORO])
        con.execute("insert into recon.match_summary values (?, 'terminal_platform_transactions', ?, 5, 5, 4, "
                    "42000, 1, 1500, 0, 0)", [RUN_DATE, CHIYODA])
        # the none-break is resolved so it does not block both gates (it stays visible to all-seeing accounts)
        con.execute("update recon.breaks set status = 'resolved', resolution = 'auto' where break_id = ?",
                    [none_break.break_id])
        decide_gates(con, RUN_DATE - dt.timedelta(days=1), materiality_yen=0, now=NOW)
        decide_gates(con, RUN_DATE, materiality_yen=0, now=NOW)
        record_step_run(con, StepRun(RUN_DATE, "gate", NOW, NOW + dt.timedelta(seconds=1), {"open": []}))
        ensure_outputs(con)  # the audit trail's second chain (empty: no output recorded in this world)
        ensure_schema(con)
        con.execute("insert into payments.payouts values ('PO-20261202-0001', 'B-131016-20261202-1', ?, "
                    "'M00000001', ?, date '2026-12-02', '0005', '123', 1, '1234567', 'ｶ)ﾔﾏﾀﾞ', 'merchant', 123456, "
                    "330, 'payer', 123456, null, 'batched')", [CHIYODA, PAY_DATE])
    return CHIYODA_BREAK.break_id, SAPPORO_BREAK.break_id, none_break.break_id


def _files(home: Path) -> tuple[Path, str, str]:
    officers = make_officers(home)  # officers.toml in the home (Settings' default registry), keys beside it
    folder = home / "out" / PAY_DATE.isoformat() / "payments"
    sapporo = replace(big_batch(2, payouts=3), business_date=PAY_DATE)
    prepared = prepare_batches([small_batch(), sapporo], folder, "OFF-SATO", officers.key("OFF-SATO"),
                               officers.registry)
    out = home / "out"
    day = out / RUN_DATE.isoformat()
    (day / "data-docs").mkdir(parents=True)
    (day / "data-docs" / "index.html").write_text("<html><body>Data Docs</body></html>", encoding="utf-8")
    (day / f"reconciliation-{RUN_DATE}.html").write_text("<html>all municipalities</html>", encoding="utf-8")
    (out / PAY_DATE.isoformat() / "statements").mkdir(parents=True)
    (out / PAY_DATE.isoformat() / "statements" / "PO-20261202-0001.pdf").write_bytes(b"%PDF-1.4 chiyoda")
    prepaid = out / "prepaid" / "2026-09-30"
    prepaid.mkdir(parents=True)
    for stem in ("prepaid-2026-09-30", f"prepaid-2026-09-30-{SAPPORO}", f"prepaid-2026-09-30-{CHIYODA}"):
        (prepaid / f"{stem}.pdf").write_bytes(b"%PDF-1.4 " + stem.encode())
    monthly = out / "monthly" / "2026-11" / CHIYODA
    monthly.mkdir(parents=True)
    (monthly / "monthly-2026-11.pdf").write_bytes(b"%PDF-1.4 monthly chiyoda")
    (home / "secret.txt").write_text("outside out/", encoding="utf-8")
    names = {p.municipality_code: p.path.name for p in prepared}
    return officers.key_dir, names[CHIYODA], names[SAPPORO]


def build_world(home: Path) -> World:
    home.mkdir(parents=True, exist_ok=True)
    chiyoda, sapporo, none_break = _warehouse(home)
    key_dir, chiyoda_file, sapporo_file = _files(home)
    con = accounts.connect(home / accounts.DB_FILE_NAME)
    for name, (role, codes) in USERS.items():
        accounts.add_user(con, name, role, codes, PASSWORD)
    accounts.add_user(con, "gone", "auditor", [], PASSWORD)
    accounts.set_disabled(con, "gone")
    con.close()
    return World(home, key_dir, chiyoda, sapporo, none_break, chiyoda_file, sapporo_file)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def settings_for(home: Path):
    return load_settings(env={"SEISAN_HOME": str(home), "SEISAN_LOCK_WAIT_SECONDS": "5"})


def app_for(home: Path):
    return create_app(settings_for(home), ConsoleConfig(secret=SECRET, cookie_secure=False))


def csrf_of(client: TestClient, path: str = "/today") -> str:
    found = CSRF_RE.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_of(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False)


def copy_world(template: World, home: Path) -> World:
    shutil.copytree(template.home, home, symlinks=True)
    return replace(template, home=home, key_dir=home / template.key_dir.relative_to(template.home))
