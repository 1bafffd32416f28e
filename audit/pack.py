"""`seisan audit pack --month YYYY-MM`: one folder `out/audit-pack/<YYYY-MM>/` and a zip beside it holding what
an auditor asks for about one month, with a README saying how to check each part (docs/audit.md, "The pack").

Deterministic: the same warehouse and files give the same folder and a byte-identical zip (rows sorted, entries
sorted, fixed timestamps and permissions, no time of packing anywhere). The pack's own row in audit.outputs is
left out of the pack, so packing again changes nothing. Reads the warehouse; writes only under out/audit-pack/.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.chain import table_exists
from audit.outputs import file_sha256, latest_outputs, resolve_recorded

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PACK_DIR = "audit-pack"
REPORT_KINDS = ("ingest_report", "daily_report", "breaks_csv", "monthly_report", "merchant_statement",
                "prepaid_report")
FILES_MAX = 200_000


@dataclass(frozen=True, slots=True)
class Pack:
    """What `build_pack` wrote: the folder, the zip, and each file in the folder (relative, sorted)."""

    folder: Path
    zip_path: Path
    files: tuple[str, ...]


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of `YYYY-MM`; ValueError naming the expected form otherwise."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from exc
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


# --- tables as CSV -------------------------------------------------------------------------------------------
TABLE_QUERIES: tuple[tuple[str, str, str], ...] = (
    ("quality/check_results.csv", "recon.check_results", "select * from recon.check_results "
     "where run_date between ? and ? order by all"),
    ("quality/source_freshness.csv", "recon.source_freshness", "select * from recon.source_freshness "
     "where run_date between ? and ? order by all"),
    ("breaks/breaks.csv", "recon.breaks", "select * from recon.breaks where business_date between ? and ? "
     "or first_seen_date between ? and ? or break_id in (select break_id from recon.break_events "
     "where run_date between ? and ?) order by break_id"),
    ("breaks/break_events.csv", "recon.break_events", "select * from recon.break_events where break_id in ("
     "select break_id from recon.breaks where business_date between ? and ? or first_seen_date between ? and ?) "
     "or run_date between ? and ? order by all"),
    ("gate/gate_decisions.csv", "recon.gate", "select * from recon.gate where run_date between ? and ? "
     "order by all"),
    ("payments/batches.csv", "payments.batches", "select * from payments.batches where business_date between ? "
     "and ? order by batch_id"),
    ("payments/payouts.csv", "payments.payouts", "select * from payments.payouts where business_date between ? "
     "and ? order by payout_id"),
    ("payments/payout_events.csv", "payments.payout_events", "select * from payments.payout_events where "
     "payout_id in (select payout_id from payments.payouts where business_date between ? and ?) order by all"),
    ("audit/step_runs.csv", "audit.step_runs", "select * from audit.step_runs where business_date between ? "
     "and ? order by seq"),
    ("audit/outputs.csv", "audit.outputs", "select * from audit.outputs where business_date between ? and ? "
     "and kind <> 'audit_pack' order by seq"),
)


def _csv_bytes(con, sql: str, params: list[object]) -> bytes:
    result = con.execute(sql, params)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([d[0] for d in result.description])
    for row in result.fetchall():
        writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v)
                         for v in row])
    return buffer.getvalue().encode("utf-8")


def _tables(con, first: dt.date, last: dt.date) -> dict[str, bytes]:
    found = {}
    for name, table, sql in TABLE_QUERIES:
        if table_exists(con, table):
            found[name] = _csv_bytes(con, sql, [first, last] * sql.count("between"))
    return found


# --- files ---------------------------------------------------------------------------------------------------
def _visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _day_folders(out_dir: Path, first: dt.date, last: dt.date) -> list[tuple[str, Path]]:
    days = []
    day = first
    while day <= last:
        folder = out_dir / day.isoformat()
        if folder.is_dir():
            days.append((day.isoformat(), folder))
        day += dt.timedelta(days=1)
    return days


def _files(con, home: Path, out_dir: Path, month: str, first: dt.date, last: dt.date) -> dict[str, Path]:
    """pack name → source file: Data Docs and payment folders of each day, the reports audit.outputs recorded for
    the month, and the monthly and prepaid report folders (when the report writers made them)."""
    chosen: dict[str, Path] = {}
    for day, folder in _day_folders(out_dir, first, last):
        for sub, target in (("data-docs", f"quality/data-docs/{day}"), ("payments", f"payments/{day}")):
            if (folder / sub).is_dir():
                chosen.update({f"{target}/{p.relative_to(folder / sub).as_posix()}": p
                               for p in _visible_files(folder / sub)})
    for output in latest_outputs(con):
        in_month = output.business_date is not None and first <= output.business_date <= last
        if in_month and output.sha256 is not None and output.kind in REPORT_KINDS:
            path = resolve_recorded(output.path, home)
            if path.is_file():
                chosen[f"reports/{Path(output.path).as_posix().lstrip('/')}"] = path
    monthly = out_dir / "monthly" / month
    if monthly.is_dir():
        chosen.update({f"reports/monthly/{month}/{p.relative_to(monthly).as_posix()}": p
                       for p in _visible_files(monthly)})
    prepaid = out_dir / "prepaid"
    if prepaid.is_dir():
        for folder in sorted(p for p in prepaid.iterdir() if p.is_dir() and p.name.startswith(month)):
            chosen.update({f"reports/prepaid/{folder.name}/{p.relative_to(folder).as_posix()}": p
                           for p in _visible_files(folder)})
    if len(chosen) > FILES_MAX:
        raise ValueError(f"the pack for {month} would hold {len(chosen)} files (limit {FILES_MAX})")
    return chosen


# --- README --------------------------------------------------------------------------------------------------
def _anchors(con, first: dt.date, last: dt.date) -> list[str]:
    lines = []
    for table, extra in (("audit.step_runs", ""), ("audit.outputs", " and kind <> 'audit_pack'")):
        if table_exists(con, table):
            row = con.execute(f"select seq, row_hash from {table} where business_date between ? and ?{extra} "
                              "and seq is not null order by seq desc limit 1", [first, last]).fetchone()
            if row:
                lines.append(f"  - `{table}`: seq {row[0]}, row_hash `{row[1]}`; check with\n"
                             f"    `seisan audit verify --expect {table}={row[0]}:{row[1]}`")
    return lines or ["  - (no audit rows for this month)"]


def _listing(names: Sequence[str]) -> list[str]:
    """Each file of the pack, except that a day's Data Docs is one line (it is dozens of pages and assets)."""
    lines, docs_days = [], {}
    for name in names:
        parts = name.split("/")
        if parts[:2] == ["quality", "data-docs"] and len(parts) > 3:
            docs_days[parts[2]] = docs_days.get(parts[2], 0) + 1
            if docs_days[parts[2]] == 1:
                lines.append(parts[2])
        else:
            lines.append(name)
    return [f"- `quality/data-docs/{line}/` ({docs_days[line]} files, start at index.html)" if line in docs_days
            else f"- `{line}`" for line in lines]


def _readme(month: str, names: Sequence[str], anchors: list[str]) -> bytes:
    payment_files = [n for n in names if n.startswith("payments/") and n.count("/") == 2 and n.endswith(".txt")]
    verify_lines = [f"      seisan payments verify {n}" for n in payment_files] or \
        ["      (no payment files this month)"]
    text = f"""# Audit pack {month}

What seisan recorded for the month {month}: data-quality results, breaks and their histories, gate decisions,
payment files with their manifests and signatures, the reports written, and the audit trail itself.
Every file of this folder is listed with its SHA-256 in `SHA256SUMS` (the zip beside the folder holds the same).

## How to check each part
- **Nothing in this pack changed**: `sha256sum -c SHA256SUMS` in this folder (every line must say OK).
- **The run log and the outputs log were not edited**: on the warehouse, `seisan audit verify` recomputes both
  hash chains and every recorded output's SHA-256; it names each edited, deleted or inserted row and each
  changed or missing file. The last rows of this month, as they were when the pack was made:
{chr(10).join(anchors)}
- **Payment files** (`payments/<date>/`): each Zengin file with its manifest (`*.manifest.json`, holding the
  preparer's and the approver's Ed25519 signatures) and `exports.json` (what was handed to the bank). Check
  each, in this folder (the manifest beside it is read), against the officer registry of the seisan home:
{chr(10).join(verify_lines)}
  `payments/batches.csv`, `payouts.csv` and `payout_events.csv` are the ledger rows behind them; trace any
  payout back to its inbox lines with `seisan trace payout PAYOUT_ID`.
- **Data quality** (`quality/`): `check_results.csv` (every expectation of every day, with its result) and
  `source_freshness.csv`; `quality/data-docs/<date>/index.html` is that day's Data Docs as rendered.
- **Breaks** (`breaks/`): every break of the month or acted on in it, and every event of their history (who
  assigned, commented, resolved, with reason codes). `seisan breaks show BREAK_ID` shows one with its lineage.
- **Gate** (`gate/gate_decisions.csv`): each municipality's release decision per day, with its reasons.
- **Reports** (`reports/`): the files audit.outputs recorded for dates in the month (paths as under the
  seisan home), and the monthly and prepaid reports when present. Their SHA-256 must equal `audit/outputs.csv`.
- **The trail** (`audit/`): the month's rows of `audit.step_runs` and `audit.outputs`, with seq, prev_hash and
  row_hash: docs/audit.md says how each row_hash is computed, so it can be recomputed without seisan.

## Files
{chr(10).join(_listing(names))}
"""
    return text.encode("utf-8")


# --- writing -------------------------------------------------------------------------------------------------
def _write_zip(zip_path: Path, folder: Path, names: Sequence[str]) -> None:
    partial = zip_path.with_name(f".{zip_path.name}.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(names):
            info = zipfile.ZipInfo(f"{folder.name}/{name}", date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            archive.writestr(info, (folder / name).read_bytes(), compresslevel=6)
    partial.replace(zip_path)


def build_pack(con, month: str, *, home: Path, out_dir: Path) -> Pack:
    """Write out/audit-pack/<month>/ (replacing an earlier pack of the month) and <month>.zip beside it. A run log
    written before the chain is chained first (the connection writes)."""
    from audit.outputs import ensure_outputs
    from audit.step_runs import ensure_step_runs

    first, last = month_bounds(month)
    ensure_step_runs(con)
    ensure_outputs(con)
    contents = _tables(con, first, last)
    sources = _files(con, home, out_dir, month, first, last)
    pack_root = out_dir / PACK_DIR
    folder = pack_root / month
    staging = pack_root / f".{month}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name, data in contents.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    for name, source in sources.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, staging / name)
    names = sorted([*contents, *sources, "README.md"])
    (staging / "README.md").write_bytes(_readme(month, names, _anchors(con, first, last)))
    sums = "".join(f"{file_sha256(staging / n)}  {n}\n" for n in names)
    (staging / "SHA256SUMS").write_text(sums, encoding="utf-8")
    names = sorted([*names, "SHA256SUMS"])
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    zip_path = pack_root / f"{month}.zip"
    _write_zip(zip_path, folder, names)
    return Pack(folder, zip_path, tuple(names))
