"""The hash chain shared by the append-only audit tables (audit.step_runs, audit.outputs): what is hashed, the
cheap append, the one-time migration of rows written before the chain, and the check `seisan audit verify` runs.

Each chained row carries `seq` (its 1-based position in the chain), `prev_hash` (the `row_hash` of the row
before it; GENESIS_HASH for the first) and `row_hash` = SHA-256 (lowercase hex) of `canonical_bytes`: the UTF-8
JSON object of the table's name, every field of the row (seq included) and prev_hash, keys sorted, no spaces,
non-ASCII kept as is. Field values: dates `YYYY-MM-DD`, timestamps in UTC as `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`,
numbers as JSON numbers, text as is, NULL as null (docs/audit.md, "The chain").

Without a secret, a chain proves that no row was edited, removed or slipped in *unless the whole tail after it
was recomputed*; the head (seq and row_hash) that `seisan audit verify` prints, kept outside the warehouse (the
audit pack's README, an officer's note), is what makes a rewritten tail visible. Never used to decide anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
CHAIN_COLUMNS = ("seq", "prev_hash", "row_hash")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class ChainedTable:
    """One chained table: `name` (schema.table), `fields` in their column order (seq excluded: always first),
    `timestamp_fields` (timestamptz columns, read back as epoch microseconds so no time zone setting matters)
    and `describe`: the columns that name a row to a person (e.g. step and business date)."""

    name: str
    fields: tuple[str, ...]
    timestamp_fields: frozenset[str]
    describe: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One thing wrong with a chain: a stable `code` (row_edited, row_unhashed, rows_deleted, row_inserted,
    chain_broken) and the one `sentence` that names it (table, position, which step/date or path)."""

    code: str
    sentence: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last row of a chain: its seq and row_hash (GENESIS_HASH and 0 for an empty chain), and the row count."""

    seq: int
    row_hash: str
    rows: int


def canonical_value(value: Any) -> Any:
    """A field as it is hashed: dates and timestamps as ISO text (timestamps in UTC, microseconds)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value} has no time zone; the audit chain hashes UTC times only")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical_bytes(table: str, fields: dict[str, Any], prev_hash: str) -> bytes:
    """The exact bytes a row's row_hash is the SHA-256 of."""
    document = {key: canonical_value(value) for key, value in fields.items()}
    document["table"] = table
    document["prev_hash"] = prev_hash
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def row_hash(table: str, fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical_bytes(table, fields, prev_hash)).hexdigest()


def table_exists(con, name: str) -> bool:
    schema, table = name.split(".")
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def is_chained(con, name: str) -> bool:
    schema, table = name.split(".")
    found = {row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table]).fetchall()}
    return set(CHAIN_COLUMNS) <= found


def head(con, table: ChainedTable) -> ChainHead:
    """The chain's last row, read without scanning the rows' contents (one aggregate over seq)."""
    seq, last_hash, rows = con.execute(
        f"select max(seq), arg_max(row_hash, seq), count(*) from {table.name}").fetchone()
    return ChainHead(int(seq or 0), last_hash or GENESIS_HASH, int(rows))


def append(con, table: ChainedTable, rows: Sequence[dict[str, Any]]) -> ChainHead:
    """Append `rows` (field → value, every field of `table`) to the chain, in order, in one transaction."""
    if not rows:
        return head(con, table)
    con.execute("begin transaction")
    try:
        current = head(con, table)
        seq, prev = current.seq, current.row_hash
        values = []
        for row in rows:
            seq += 1
            fields = {"seq": seq, **{name: row[name] for name in table.fields}}
            digest = row_hash(table.name, fields, prev)
            values.append([*fields.values(), prev, digest])
            prev = digest
        columns = ("seq", *table.fields, "prev_hash", "row_hash")
        con.executemany(f"insert into {table.name} ({', '.join(columns)}) values "
                        f"({', '.join('?' for _ in columns)})", values)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return ChainHead(seq, prev, current.rows + len(rows))


def migrate(con, table: ChainedTable) -> int:
    """Give a table written before the chain its chain columns and chain its rows in insertion order (rowid),
    in one transaction; returns the rows chained (0 when the table was chained already)."""
    if is_chained(con, table.name):
        return 0
    con.execute("begin transaction")
    try:
        for column, kind in (("seq", "bigint"), ("prev_hash", "varchar"), ("row_hash", "varchar")):
            con.execute(f"alter table {table.name} add column {column} {kind}")
        rows = _read_rows(con, table, order="rowid")
        prev, updates = GENESIS_HASH, []
        for seq, (rowid, fields) in enumerate(((r["rowid"], r["fields"]) for r in rows), start=1):
            fields = {"seq": seq, **{k: v for k, v in fields.items() if k != "seq"}}
            digest = row_hash(table.name, fields, prev)
            updates.append([seq, prev, digest, rowid])
            prev = digest
        if updates:
            con.execute("create temporary table audit_chain_migration "
                        "(seq bigint, prev_hash varchar, row_hash varchar, row_id bigint)")
            con.executemany("insert into audit_chain_migration values (?, ?, ?, ?)", updates)
            con.execute(f"update {table.name} set seq = m.seq, prev_hash = m.prev_hash, row_hash = m.row_hash "
                        f"from audit_chain_migration m where {table.name}.rowid = m.row_id")
            con.execute("drop table audit_chain_migration")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(updates)


def _select_list(table: ChainedTable) -> str:
    return ", ".join(f"epoch_us({f}) as {f}" if f in table.timestamp_fields else f for f in table.fields)


def _read_rows(con, table: ChainedTable, order: str) -> list[dict[str, Any]]:
    chained = is_chained(con, table.name)
    extra = ", seq, prev_hash, row_hash" if chained else ""
    result = con.execute(f"select rowid, {_select_list(table)}{extra} from {table.name} order by {order}")
    names = [d[0] for d in result.description]
    rows = []
    for values in result.fetchall():
        record = dict(zip(names, values, strict=True))
        fields = {f: (_from_epoch_us(record[f]) if f in table.timestamp_fields else record[f])
                  for f in table.fields}
        if chained:
            fields = {"seq": record["seq"], **fields}
        rows.append({"rowid": record["rowid"], "fields": fields, "prev_hash": record.get("prev_hash"),
                     "row_hash": record.get("row_hash")})
    return rows


def _from_epoch_us(value: int | None) -> dt.datetime | None:
    return None if value is None else _EPOCH + dt.timedelta(microseconds=value)


def _named(table: ChainedTable, fields: dict[str, Any]) -> str:
    parts = [f"{name} {canonical_value(fields[name])}" for name in table.describe if fields.get(name) is not None]
    return ", ".join(parts) or "no fields"


def _genuine_first(table: ChainedTable, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in seq order where, of rows sharing a seq, one whose own hash holds comes first (the others were
    slipped in beside it)."""
    def holds(row: dict[str, Any]) -> bool:
        return row["row_hash"] is not None and row["prev_hash"] is not None and \
            row_hash(table.name, row["fields"], row["prev_hash"]) == row["row_hash"]

    return sorted(rows, key=lambda r: (r["fields"]["seq"] is None, r["fields"]["seq"] or 0, not holds(r)))


def verify_chain(con, table: ChainedTable) -> tuple[list[ChainProblem], ChainHead]:
    """Recompute the chain of `table`: every row's own hash, and every link to the row before it."""
    if not table_exists(con, table.name):
        return [], ChainHead(0, GENESIS_HASH, 0)
    if not is_chained(con, table.name):
        return [ChainProblem("chain_missing", f"{table.name} has no hash chain yet (written before the chain); "
                                              "the next step run adds it (seisan run or any step).")], \
            ChainHead(0, GENESIS_HASH, 0)
    rows = _read_rows(con, table, order="seq nulls last, rowid")
    problems: list[ChainProblem] = []
    prev_seq, prev_hash, prev_fields = 0, GENESIS_HASH, None
    for row in _genuine_first(table, rows):
        fields, seq = row["fields"], row["fields"]["seq"]
        who = f"{table.name} row seq {seq} ({_named(table, fields)})"
        if row["row_hash"] is None or row["prev_hash"] is None or seq is None:
            problems.append(ChainProblem("row_inserted", f"{table.name} holds a row that was inserted outside the "
                                                         f"audit log ({_named(table, fields)}): it has no "
                                                         "place in the chain (no seq or hash)."))
            continue
        if seq == prev_seq:
            problems.append(ChainProblem("row_inserted", f"{who} was inserted: seq {seq} appears twice in the "
                                                         "chain and this copy is not the chained row."))
            continue
        if row_hash(table.name, fields, row["prev_hash"]) != row["row_hash"]:
            problems.append(ChainProblem("row_edited", f"{who} was edited: its fields no longer hash to its "
                                                       "row_hash."))
        if seq > prev_seq + 1:
            missing = f"row seq {prev_seq + 1} was" if seq == prev_seq + 2 else \
                f"rows seq {prev_seq + 1} to {seq - 1} were"
            after = f"seq {prev_seq}" if prev_fields is not None else "the genesis"
            problems.append(ChainProblem("rows_deleted", f"{table.name} {missing} deleted: the chain breaks "
                                                         f"between {after} and seq {seq}."))
        elif row["prev_hash"] != prev_hash:
            problems.append(ChainProblem("chain_broken", f"{who} does not follow seq {prev_seq}: its prev_hash is "
                                                         "not that row's row_hash (a row before it was rewritten "
                                                         "or replaced)."))
        prev_seq, prev_hash, prev_fields = seq, row["row_hash"], fields
    chained_rows = sum(1 for r in rows if r["row_hash"] is not None and r["fields"]["seq"] is not None)
    return problems, ChainHead(prev_seq, prev_hash, chained_rows)
