"""`audit.outputs`: every file seisan wrote (reports, breaks CSVs, Data Docs, payment files and manifests, audit
packs), with its SHA-256 and size when written: append-only and hash-chained like audit.step_runs.

One row per *version* of an output: `record_outputs` appends a row for a path only when its bytes differ from
the path's latest recorded version (or it was never recorded), so a rerun that writes identical bytes records
nothing and a rerun that changes a file records its new version. A recorded directory (Data Docs) is one row per
file under it; a file recorded under it before and gone now gets a `removed` row (sha256 and bytes NULL), so a
re-rendered folder is not mistaken for a tampered one. `verify_outputs` checks each path's latest version
against the bytes on disk now. Paths are relative to the base directory (the seisan home) when under it, else
absolute; always with `/`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from audit.chain import ChainedTable, ChainProblem, append, migrate, table_exists

OUTPUTS_DDL = """
create schema if not exists audit;
create table if not exists audit.outputs (
    seq bigint,
    path varchar not null,
    kind varchar not null,
    business_date date,
    sha256 varchar,
    bytes bigint,
    written_at timestamptz not null,
    step varchar not null,
    prev_hash varchar,
    row_hash varchar
)
"""
OUTPUTS = ChainedTable("audit.outputs", ("path", "kind", "business_date", "sha256", "bytes", "written_at", "step"),
                       frozenset({"written_at"}), ("path", "kind", "business_date"))
# The kinds written today; a new writer adds its own (free text, lowercase, one word with underscores).
OUTPUT_KINDS = ("ingest_report", "daily_report", "breaks_csv", "data_docs", "payment_file", "payment_manifest",
                "payment_export", "payment_exports_record", "monthly_report", "merchant_statement",
                "prepaid_report", "audit_pack")
FILES_PER_RECORD_MAX = 100_000  # a directory with more files than this is a mistake, not an output
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class OutputVersion:
    """One row of audit.outputs: path (relative to the base dir, or absolute), kind, business date (None when
    the output is not of one date), sha256 and bytes (None: the file was removed), when, and which step wrote it."""

    seq: int
    path: str
    kind: str
    business_date: dt.date | None
    sha256: str | None
    bytes: int | None
    written_at: dt.datetime
    step: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def relative_name(path: Path, base_dir: Path) -> str:
    """How a path is recorded: relative to base_dir when under it, else absolute; always with `/`."""
    resolved, base = Path(path).resolve(), Path(base_dir).resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.as_posix()


def resolve_recorded(name: str, base_dir: Path) -> Path:
    path = Path(name)
    return path if path.is_absolute() else Path(base_dir) / path


def ensure_outputs(con) -> int:
    """Create audit.outputs (or chain one written before the chain); returns the rows chained now."""
    con.execute(OUTPUTS_DDL)
    return migrate(con, OUTPUTS)


def _files_of(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(files to record, directories given): a directory stands for every file under it."""
    files, folders = [], []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            folders.append(path)
            files += sorted(p for p in path.rglob("*") if p.is_file()  # never lock or temporary dot-files
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"cannot record output {path}: it does not exist")
    if len(files) > FILES_PER_RECORD_MAX:
        raise ValueError(f"refusing to record {len(files)} files at once (limit {FILES_PER_RECORD_MAX})")
    return files, folders


def record_outputs(con, paths: Iterable[Path], *, kind: str, business_date: dt.date | None, base_dir: Path,
                   step: str, now: dt.datetime | None = None) -> list[OutputVersion]:
    """Record the files at `paths` (a directory: every file under it) as outputs of `step`; returns the rows
    appended now: new paths, changed bytes, and files gone from a recorded directory. Identical bytes: nothing."""
    ensure_outputs(con)
    files, folders = _files_of(paths)
    written_at = now or dt.datetime.now(dt.UTC)
    current = {relative_name(p, base_dir): p for p in files}
    prefixes = [relative_name(folder, base_dir).rstrip("/") + "/" for folder in folders]
    latest = _latest_versions(con, list(current), prefixes)
    rows = []
    for name, path in sorted(current.items()):
        sha256 = file_sha256(path)
        if latest.get(name, (None,))[0] != sha256:
            rows.append({"path": name, "kind": kind, "business_date": business_date, "sha256": sha256,
                         "bytes": path.stat().st_size, "written_at": written_at, "step": step})
    for name, (sha256, _) in sorted(latest.items()):
        if name not in current and sha256 is not None:
            rows.append({"path": name, "kind": kind, "business_date": business_date, "sha256": None,
                         "bytes": None, "written_at": written_at, "step": step})
    end = append(con, OUTPUTS, rows)
    first = end.seq - len(rows) + 1
    return [OutputVersion(first + i, **row) for i, row in enumerate(rows)]


def _latest_versions(con, names: list[str], prefixes: list[str]) -> dict[str, tuple[str | None, int]]:
    """path → (sha256, seq) of its latest version, for the given paths and every path under the prefixes."""
    if not (names or prefixes):
        return {}
    under = "".join(" or starts_with(path, ?)" for _ in prefixes)
    rows = con.execute(f"select path, arg_max(sha256, seq), max(seq) from audit.outputs "
                       f"where list_contains(?, path){under} group by path", [names, *prefixes]).fetchall()
    return {path: (sha256, seq) for path, sha256, seq in rows}


def latest_outputs(con) -> list[OutputVersion]:
    """Each recorded path's latest version (removed ones included), in path order."""
    if not table_exists(con, OUTPUTS.name):
        return []
    rows = con.execute("select seq, path, kind, business_date, sha256, bytes, written_at, step from audit.outputs "
                       "where seq is not null qualify row_number() over (partition by path order by seq desc) = 1 "
                       "order by path").fetchall()
    return [OutputVersion(*row) for row in rows]


def verify_outputs(con, base_dir: Path) -> tuple[list[ChainProblem], int]:
    """Each recorded output's latest version against the bytes on disk now: (problems, files checked)."""
    problems, checked = [], 0
    for output in latest_outputs(con):
        if output.sha256 is None:
            continue
        checked += 1
        path = resolve_recorded(output.path, base_dir)
        when = f"{output.kind}" + (f" of {output.business_date}" if output.business_date else "")
        if not path.is_file():
            problems.append(ChainProblem("output_missing", f"output {output.path} ({when}, recorded as seq "
                                                           f"{output.seq}) is missing from {path.parent}."))
        elif (actual := file_sha256(path)) != output.sha256:
            problems.append(ChainProblem("output_changed", f"output {output.path} ({when}) was changed after it "
                                                           f"was recorded: its SHA-256 is {actual}, recorded "
                                                           f"{output.sha256} (seq {output.seq})."))
    return problems, checked
