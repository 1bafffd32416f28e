"""Issue 7 §2, the expensive part: one `seisan run` of the daily DAG (embedded Airflow) on a simulated world
whose inbox holds personal numbers (the simulator's `my_number_*` faults and disguised ones added here), then
every byte under SEISAN_HOME but the inbox — the warehouse, the Parquet mirror, out/, the Airflow metadata
database and task logs — is scanned: after NFKC, JSON unescaping and removal of every non-digit, none of the
inbox's My Numbers appears. One example; the property over every file kind and field is
test_reliability_pii_scan.py (ingest alone).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from pathlib import Path

import duckdb
import pytest

from contracts.codes import looks_like_my_number, my_number_check_digit
from seisan.config import load_settings

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _number(body: str) -> str:
    return body + str(my_number_check_digit(body))


_A, _B, _C = _number("12345678901"), _number("45678901234"), _number("98765432109")
# a full-width number grouped by ideographic spaces, one grouped by minus signs, one plain
DISGUISED = [
    "\u3000".join((_A[:4], _A[4:8], _A[8:])).translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    "\u2212".join((_B[:4], _B[4:8], _B[8:])),
    _C,
]


def _digits_only(text: str) -> str:
    folded = unicodedata.normalize("NFKC", _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    return "".join(c for c in folded if "0" <= c <= "9")


def _inbox_my_numbers(inbox: Path) -> set[str]:
    """The 12 digits of every CSV field in the inbox that is a My Number (the simulator's and ours)."""
    found = set()
    for path in inbox.rglob("*.csv"):
        text = path.read_bytes().decode("utf-8", errors="replace")
        for row in csv.reader(io.StringIO(text)):
            found |= {_digits_only(v) for v in row if looks_like_my_number(v)}
    return found


def _add_disguised_rows(inbox: Path, day: dt.date) -> None:
    ledger = inbox / "platform" / f"ledger_{day:%Y%m%d}.csv"
    rows = list(csv.DictReader(io.StringIO(ledger.read_text(encoding="utf-8"))))
    extra = []
    for index, (value, column) in enumerate(zip(DISGUISED, ("mykey_id", "auth_id", "event_id"), strict=True)):
        extra.append({**rows[-1], "event_id": f"{rows[-1]['event_id']}-pii{index}", column: value})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows + extra)
    ledger.write_text(buffer.getvalue(), encoding="utf-8")


@pytest.mark.slow
def test_a_seisan_run_writes_no_my_number_anywhere(seisan_home: Path) -> None:
    from seisan.airflow_runner import run_daily_dag
    from simulator import deliver, simulate

    # the files are written just before the run: settled at once (run_daily_dag passes this on to the tasks;
    # with the default 5 s a fast machine's ingest left the last-written file for the next run)
    settings = load_settings(config_file=Path("/nonexistent.toml"),
                             env={"SEISAN_HOME": str(seisan_home), "SEISAN_INGEST_SETTLE_SECONDS": "0"})
    day = dt.date(2026, 11, 2)
    simulate(settings.inbox, day, 1, 1, 60, 5, faults="hostile")
    deliver(settings.inbox, day)
    _add_disguised_rows(settings.inbox, day)
    planted = _inbox_my_numbers(settings.inbox)
    assert {_digits_only(v) for v in DISGUISED} <= planted
    assert run_daily_dag(settings, day).succeeded

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        quarantined = con.execute(
            "select count(*) from raw.quarantine where reason_code = 'my_number_detected'").fetchone()[0]
        assert quarantined >= len(DISGUISED)
        dumps = []
        for schema, table in con.execute("select table_schema, table_name from information_schema.tables "
                                         "where table_type = 'BASE TABLE'").fetchall():
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            dumps.append((f"{schema}.{table}", _digits_only(" ".join(" ".join(map(str, r)) for r in rows))))
    inbox = settings.inbox.resolve()
    scanned = 0
    for path in seisan_home.rglob("*"):
        if not path.is_file() or path.resolve().is_relative_to(inbox):
            continue
        data = path.read_bytes()
        scanned += 1
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            data += " ".join(str(r) for r in pq.read_table(path).to_pylist()).encode()
        for encoding in ("utf-8", "cp932"):
            dumps.append((str(path), _digits_only(data.decode(encoding, errors="replace"))))
    assert scanned > 0 and any("logs" in p for p, _ in dumps)
    leaks = [(where, number) for where, digits in dumps for number in planted if number in digits]
    assert leaks == []
