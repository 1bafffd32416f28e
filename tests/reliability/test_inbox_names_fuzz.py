"""Generated file names in every inbox folder (arbitrary bytes: not UTF-8, control characters, bidi overrides,
temporary and hidden names, near-misses of real patterns) mixed with valid names.

Properties: ingest never raises; every delivered file the delivery rule lets through gets exactly one manifest
row under its printable path, and files with temporary or hidden names get none; every stored path is valid,
printable UTF-8; rows read = loaded + quarantined.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.inbox_names import NAMES, SOURCES
from ingestion import ingest
from ingestion.inbox import printable_path

D = dt.date(2026, 11, 25)
PARTS = {"partner": "ACME", "terminal": "T00000001", "upload": 1, "bank": "0001", "branch": "001",
         "account": "1234567"}

raw_names = st.binary(min_size=1, max_size=40).filter(
    lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b"..")
)
valid_paths = st.sampled_from(NAMES).map(
    lambda name: name.inbox_path(D, **{k: PARTS[k] for k in name.pattern.groupindex if k != "date"}).encode()
)
near_misses = st.sampled_from([
    b"platform/ledger_20261125.csv.tmp", b"platform/ledger_20261125.csv.part", b"platform/.ledger_20261125.csv",
    b"platform/ledger_20261125.CSV", b"platform/ledger_20260230.csv", b"platform/ledger_00010101.csv",
    b"terminal/T00000001/T00000001_20261125_0000.jsonl", b"partner/ACME/ACMX_sales_20261125.csv",
    b"bank/0001/0001_001_1234567_20261125.txt\xe2\x80\xae", b"master/municipalities_20261125.csv\n",
])
random_paths = st.tuples(st.sampled_from(SOURCES), st.lists(raw_names, min_size=1, max_size=2)).map(
    lambda t: b"/".join([t[0].encode(), *t[1]])
)
paths = st.lists(st.one_of(valid_paths, near_misses, random_paths), min_size=1, max_size=5,
                 unique_by=lambda p: printable_path(os.fsdecode(p))[0])


def _delivered(path: bytes) -> bool:
    parts = path.split(b"/")
    return not any(p.startswith(b".") for p in parts) and not parts[-1].endswith((b".tmp", b".part"))


def _write(inbox: Path, rel: bytes, data: bytes) -> bool:
    """Write one file; False when the path cannot exist (a file where a folder is, or the reverse)."""
    target = os.fsencode(inbox) + b"/" + rel
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        return False
    os.write(fd, data)
    os.close(fd)
    return True


@settings(
    max_examples=int(os.environ.get("SEISAN_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(paths=paths, contents=st.lists(st.binary(max_size=64), min_size=5, max_size=5))
def test_any_file_name_gets_one_coded_verdict(tmp_path_factory, paths: list[bytes], contents: list[bytes]) -> None:
    root = tmp_path_factory.mktemp("names")
    written = [p for p, data in zip(paths, contents, strict=False) if _write(root / "inbox", p, data)]
    with duckdb.connect(":memory:") as con:
        ingest(con, root / "inbox", root / "raw", D)  # never raises
        rows = con.execute("SELECT path, status, reason_code, rows_read, rows_loaded, rows_quarantined "
                           "FROM raw.file_manifest").fetchall()
    by_path: dict[str, int] = {}
    for path, status, reason, read, loaded, quarantined in rows:
        path.encode("utf-8")  # valid UTF-8, no surrogates
        assert printable_path(path) == (path, False)
        assert status in ("loaded", "rejected", "duplicate", "conflict")
        assert status == "loaded" or reason is not None or status == "duplicate"
        assert read == loaded + quarantined
        by_path[path] = by_path.get(path, 0) + 1
    for rel in written:
        shown = printable_path(os.fsdecode(rel))[0]
        assert by_path.get(shown, 0) == (1 if _delivered(rel) else 0), (rel, rows)
