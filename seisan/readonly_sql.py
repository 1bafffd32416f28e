"""`seisan sql`: one read-only query against the warehouse, and nothing else.

The guards are DuckDB's own, checked against the installed version by tests/seisan/test_readonly_sql.py:
- the file is opened `read_only`: no statement can change a table;
- `enable_external_access = false`: no file outside the warehouse is read or written (read_csv, read_parquet,
  read_text, read_blob, glob, COPY, EXPORT, ATTACH), no extension is installed or loaded;
- `lock_configuration = true`: no SET / RESET / PRAGMA can lift the guards for the session;
- the text is split with DuckDB's own parser (`extract_statements`): exactly one statement, and only a query
  (SELECT, and what DuckDB turns into one: SHOW, DESCRIBE, SUMMARIZE, FROM, VALUES, WITH) or an EXPLAIN of one.
A refusal is one sentence naming what was refused.
"""

from __future__ import annotations

from pathlib import Path

GUARDED_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}
TABLES_HINT = "Tables: raw.*, staging.*, marts.*, audit.step_runs, audit.outputs (try: seisan sql \"show all tables\")"


class QueryRefused(ValueError):
    """The text is not one read-only query; the message says what was refused and what is allowed."""


def _allowed_types():
    import duckdb

    return {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def _only_statement(con, query: str):
    import duckdb

    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryRefused(f"the query does not parse: {_first_line(exc)}. {TABLES_HINT}") from exc
    if len(statements) != 1:
        raise QueryRefused(f"seisan sql runs exactly one statement, and this text holds {len(statements)}")
    statement = statements[0]
    if statement.type not in _allowed_types():
        kind = str(statement.type).rsplit(".", 1)[-1]
        raise QueryRefused(f"seisan sql only reads: a {kind} statement is refused (allowed: SELECT, SHOW, "
                           "DESCRIBE, SUMMARIZE, EXPLAIN)")
    return statement


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_read_only(warehouse: Path, query: str, limit: int) -> tuple[list[str], list[tuple[object, ...]]]:
    """Run `query` read-only on the warehouse file; its column names and at most `limit` rows."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True, config=dict(GUARDED_CONFIG)) as con:
        statement = _only_statement(con, query)
        try:
            cursor = con.execute(statement.query)
        except duckdb.PermissionException as exc:
            raise QueryRefused("seisan sql reads only the warehouse's tables: the query tried to reach a file, an "
                               f"extension or a setting ({_first_line(exc)})") from exc
        except duckdb.Error as exc:
            if "configuration has been locked" in str(exc) or "read-only" in str(exc).lower():
                raise QueryRefused(f"seisan sql only reads, and the query tried to change something "
                                   f"({_first_line(exc)})") from exc
            raise QueryRefused(f"the query failed: {_first_line(exc)}. {TABLES_HINT}") from exc
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(limit)
    return columns, rows
