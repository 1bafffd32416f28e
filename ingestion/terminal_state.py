"""What terminal files are checked against, read once per batch instead of once per file: card certificates
by MyKey ID, loaded (seq, prev_hash, hash) per terminal, and the open seq gaps.

Each lookup answers from the committed warehouse plus what the run itself decided to load (files waiting in
the current batch included), so a terminal's second upload of a run links to its first one before either is
committed. `prefetch` only warms the caches; a miss falls back to a query, so answers never depend on what
was prefetched. Reads the warehouse, never writes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from ingestion.card_signatures import Cert
from ingestion.outcome import FileOutcome, GapAction, GapChange

__all__ = ["Cert", "CertLookup", "CertRow", "TerminalChains", "certificate_rows"]


CertRow = tuple[str, str, str, str, str | None, dt.datetime, str]  # as `certificate_rows` reads them


def certificate_rows(con: duckdb.DuckDBPyConnection, mykey_ids: list[str],
                     files: list[str] | None = None) -> list[CertRow]:
    """The raw.platform_mykey_certs rows of these MyKey IDs (of these files only, when `files` is given), in the
    table's order: (mykey_id, cert_serial, cert_der, event, previous_serial, event_ts, file_sha256). Reads the
    DER column of every row the IDs filter leaves (the whole table, for a day's IDs), so it is asked as seldom as
    possible; `con` may be a cursor of its own in another thread."""
    files_filter = " AND file_sha256 IN (SELECT unnest(?::VARCHAR[]))" if files is not None else ""
    return con.execute(  # type: ignore[no-any-return]
        "SELECT mykey_id, cert_serial, cert_der, event, previous_serial, event_ts, file_sha256 "
        f"FROM raw.platform_mykey_certs WHERE mykey_id IN (SELECT unnest(?::VARCHAR[])){files_filter}",
        [mykey_ids, *([files] if files is not None else [])],
    ).fetchall()


def _certs_of(rows: list[CertRow]) -> dict[str, list[Cert]]:
    """Each MyKey ID's certificates from its raw.platform_mykey_certs rows (in the order given): each registered
    or reissued one valid until the first revocation of its serial, or the first reissue that supersedes it, of
    the same MyKey ID."""
    ends: dict[tuple[str, int], dt.datetime] = {}
    for mykey_id, serial, _, event, previous, ts, *_ in rows:
        if event == "revoked":
            ended = (mykey_id, int(serial, 16))
        elif event == "reissued":
            ended = (mykey_id, int(previous, 16))  # type: ignore[arg-type]  # a reissue names its previous serial
        else:
            continue
        if ended not in ends or ts < ends[ended]:
            ends[ended] = ts
    found: dict[str, list[Cert]] = {}
    for mykey_id, serial, der, event, _, ts, *_ in rows:
        if event in ("registered", "reissued"):
            number = int(serial, 16)
            found.setdefault(mykey_id, []).append(Cert(number, mykey_id, ts, ends.get((mykey_id, number)), der))
    return found


@dataclass(slots=True)
class CertLookup:
    """Committed certificates by MyKey ID. `forget()` after certificate rows were committed."""

    con: duckdb.DuckDBPyConnection
    _by_id: dict[str, list[Cert]] = field(default_factory=dict)

    def forget(self) -> None:
        self._by_id.clear()

    def prefetch(self, mykey_ids: Iterable[str]) -> None:
        # not `set - self._by_id.keys()`: that walks every cached id (a set minus a dict view iterates the view),
        # once per terminal file, which at 300,000 residents cost a tenth of the whole ingest
        missing = sorted({m for m in mykey_ids if m not in self._by_id})
        if missing:
            self.take(missing, certificate_rows(self.con, missing))

    def take(self, mykey_ids: Iterable[str], rows: list[CertRow]) -> None:
        """Cache the certificates of these MyKey IDs from `rows`: every committed row of theirs, in table order."""
        found = _certs_of(rows)
        for mykey_id in mykey_ids:
            self._by_id[mykey_id] = found.get(mykey_id, [])

    def certs_for(self, mykey_ids: Iterable[str]) -> dict[str, list[Cert]]:
        wanted = set(mykey_ids)
        self.prefetch(wanted)
        return {m: self._by_id[m] for m in wanted if self._by_id[m]}


@dataclass(slots=True)
class TerminalChains:
    """Per terminal: loaded seq -> (prev_hash, hash) for the seq windows asked about, and the open gaps."""

    con: duckdb.DuckDBPyConnection
    _links: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)
    _covered: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    _run_seals: dict[str, list[int]] = field(default_factory=dict)
    _open_gaps: dict[str, list[tuple[int, int]]] | None = None

    def _is_covered(self, terminal_id: str, low: int, high: int) -> bool:
        return any(a <= low and high <= b for a, b in self._covered.get(terminal_id, ()))

    def prefetch(self, windows: Iterable[tuple[str, int, int]]) -> None:
        """Read the committed records and seals of every (terminal_id, low, high) window in one query."""
        todo = [w for w in windows if not self._is_covered(*w)]
        if not todo:
            return
        table = pa.table(
            {
                "terminal_id": pa.array([w[0] for w in todo], pa.string()),
                "low": pa.array([w[1] for w in todo], pa.int64()),
                "high": pa.array([w[2] for w in todo], pa.int64()),
            }
        )
        self.con.register("_ingest_windows", table)
        try:
            rows = self.con.execute(
                "SELECT r.terminal_id, r.seq, r.prev_hash, r.hash FROM raw.terminal_records r "
                "JOIN _ingest_windows w ON r.terminal_id = w.terminal_id AND r.seq BETWEEN w.low AND w.high "
                "UNION ALL SELECT s.terminal_id, s.seq, s.prev_hash, s.hash FROM raw.terminal_seals s "
                "JOIN _ingest_windows w ON s.terminal_id = w.terminal_id AND s.seq BETWEEN w.low AND w.high"
            ).fetchall()
        finally:
            self.con.unregister("_ingest_windows")
        for terminal_id, seq, prev_hash, hash_ in rows:
            self._links.setdefault(terminal_id, {})[seq] = (prev_hash, hash_)
        for terminal_id, low, high in todo:
            self._covered.setdefault(terminal_id, []).append((low, high))

    def loaded_by_seq(self, terminal_id: str, low: int, high: int) -> dict[int, tuple[str, str]]:
        """seq -> (prev_hash, hash) of the terminal's loaded records and seals with low <= seq <= high."""
        self.prefetch([(terminal_id, low, high)])
        links = self._links.get(terminal_id, {})
        if high - low < len(links):
            return {seq: links[seq] for seq in range(low, high + 1) if seq in links}
        return {seq: link for seq, link in links.items() if low <= seq <= high}

    def last_seal_before(self, terminal_id: str, seq: int) -> int:
        """The highest loaded seal seq of the terminal below `seq` (0 if none)."""
        row = self.con.execute(
            "SELECT max(seq) FROM raw.terminal_seals WHERE terminal_id = ? AND seq < ?", [terminal_id, seq]
        ).fetchall()
        own = [s for s in self._run_seals.get(terminal_id, ()) if s < seq]
        return max([row[0][0] or 0, *own])

    def _gaps(self) -> dict[str, list[tuple[int, int]]]:
        if self._open_gaps is None:
            rows = self.con.execute(
                "SELECT terminal_id, missing_from_seq, missing_to_seq FROM raw.terminal_seq_gaps WHERE status = 'open'"
            ).fetchall()
            self._open_gaps = {}
            for terminal_id, low, high in rows:
                self._open_gaps.setdefault(terminal_id, []).append((low, high))
        return self._open_gaps

    def open_gap_containing(self, terminal_id: str, first: int, last: int) -> tuple[int, int] | None:
        """The first open gap of the terminal with missing_from_seq <= first and missing_to_seq >= last."""
        for low, high in self._gaps().get(terminal_id, ()):
            if low <= first and last <= high:
                return low, high
        return None

    def remember(self, outcome: FileOutcome) -> None:
        """Take in what a terminal file's outcome loads and changes, as if it were committed."""
        for name in ("terminal_records", "terminal_seals"):
            rows = outcome.tables.get(name)
            if rows is None or rows.num_rows == 0:
                continue
            columns = rows.select(["terminal_id", "seq", "prev_hash", "hash"]).to_pydict()
            terminal_ids, seqs = columns["terminal_id"], columns["seq"]
            links = zip(seqs, zip(columns["prev_hash"], columns["hash"], strict=True), strict=True)
            if len(set(terminal_ids)) == 1:  # a terminal file's rows are all its terminal's: taken in at once
                self._links.setdefault(terminal_ids[0], {}).update(links)
            else:
                for terminal_id, (seq, link) in zip(terminal_ids, links, strict=True):
                    self._links.setdefault(terminal_id, {})[seq] = link
            if name == "terminal_seals":
                for terminal_id, seq in zip(terminal_ids, seqs, strict=True):
                    self._run_seals.setdefault(terminal_id, []).append(seq)
        self._take_gaps(outcome.gap_changes)

    def remember_whole(self, terminal_id: str, links: tuple[tuple[int, str, str], ...],
                       gap_changes: tuple[GapChange, ...]) -> None:
        """`remember` for a file loaded whole, every line of it its terminal's: `links` holds (seq, prev_hash,
        hash) of its records, then of its seal (terminal_checks.CheckedFile.links). Its rows are not read back
        from the outcome's tables: on day 4 of the 3,500,000-resident world that took 54,000 files 3-4 s of
        the main process."""
        self._links.setdefault(terminal_id, {}).update((seq, (prev_hash, hash_)) for seq, prev_hash, hash_ in links)
        self._run_seals.setdefault(terminal_id, []).append(links[-1][0])
        self._take_gaps(gap_changes)

    def _take_gaps(self, gap_changes: tuple[GapChange, ...]) -> None:
        gaps = self._gaps()
        for change in gap_changes:
            own = gaps.setdefault(change.terminal_id, [])
            span = (change.missing_from_seq, change.missing_to_seq)
            if change.action is GapAction.OPEN:
                own.append(span)
            else:
                own[:] = [g for g in own if g != span]
