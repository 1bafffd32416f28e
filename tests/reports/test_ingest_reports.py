"""The ingest reports of a real ingest run on a simulated hostile world, with hostile cells added to delivered
files: every quarantined record is there, no cell would run in a spreadsheet, no certificate serial shows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import duckdb
import pytest

from seisan.config import load_settings
from seisan.steps import ingest_step
from simulator import simulate

DAY = dt.date(2026, 11, 3)
FORMULA_STARTS = "=+-@\t\r＝＋－＠"
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("reports") / "home"
    settings = load_settings(config_file=Path("/nonexistent.toml"),
                             env={"SEISAN_HOME": str(home), "SEISAN_INGEST_SETTLE_SECONDS": "0"})
    simulate(settings.inbox, DAY - dt.timedelta(days=1), 2, 1, 60, 5, faults="hostile", workers=1)
    platform = settings.inbox / "platform"
    with (platform / f"balances_{DAY:%Y%m%d}.csv").open("a", encoding="utf-8") as out:
        out.write('=1+1,@SUM(A1),"-2+3",=HYPERLINK("http://x.example")\n')
    with (platform / f"mykey_certs_{DAY:%Y%m%d}.csv").open("a", encoding="utf-8") as out:
        out.write("BADROW99,a0050000ffff,QUJD,registered,,not-a-time\n")
    for day in (DAY - dt.timedelta(days=1), DAY):
        ingest_step(day, settings)
    return settings


def _serials(inbox: Path) -> set[str]:
    """Every certificate serial delivered anywhere in the inbox, read independently of reports/."""
    found = set()
    for path in inbox.rglob("mykey_certs_*.csv"):
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            found |= {row[c] for c in ("cert_serial", "previous_serial") if row.get(c)}
    for path in inbox.rglob("*.jsonl"):
        found |= set(re.findall(r'"card_cert_serial":\s*"([0-9A-Fa-f]+)"', path.read_text(encoding="utf-8")))
    return found


def _cells(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_every_quarantined_record_is_reported(ingested) -> None:
    with duckdb.connect(str(ingested.warehouse), read_only=True) as con:
        quarantined = con.execute("select count(*) from raw.quarantine where ingest_run_date = ?", [DAY]).fetchone()[0]
        files = con.execute("select count(*) from raw.file_manifest where ingest_run_date = ?", [DAY]).fetchone()[0]
    out = ingested.out_dir / DAY.isoformat()
    assert len(_cells(out / "ingest_quarantine.csv")) == 1 + quarantined
    assert len(_cells(out / "ingest_files.csv")) == 1 + files
    assert quarantined >= 2  # the two rows added above, at least


def test_no_cell_would_run_in_a_spreadsheet(ingested) -> None:
    out = ingested.out_dir / DAY.isoformat()
    cells = [cell for name in ("ingest_files.csv", "ingest_quarantine.csv") for row in _cells(out / name)
             for cell in row]
    runnable = [c for c in cells
                if c.lstrip()[:1] and c.lstrip()[0] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(c)]
    assert runnable == []
    assert any(c.startswith("'=1+1,@SUM(A1)") for c in cells)  # the hostile row is there, made inert


def test_no_certificate_serial_is_shown(ingested) -> None:
    serials = _serials(ingested.inbox)
    assert "a0050000ffff" in serials and len(serials) > 10
    text = "".join((ingested.out_dir / d).joinpath(n).read_text(encoding="utf-8")
                   for d in ((DAY - dt.timedelta(days=1)).isoformat(), DAY.isoformat())
                   for n in ("ingest_files.csv", "ingest_quarantine.csv"))
    shown = {s for s in serials if re.search(rf"(?<![0-9A-Za-z]){s}(?![0-9A-Za-z])", text)}
    assert shown == set()
