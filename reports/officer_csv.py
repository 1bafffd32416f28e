"""The one writer of officer-facing CSV files (everything under out/<D>/ that a person opens in a spreadsheet).

A spreadsheet runs a cell as a formula when its text starts with `=`, `+`, `-` or `@` (or a tab or carriage
return before one), so a delivered value like `=HYPERLINK("http://…")` in a quarantined record would run on the
officer's machine (CSV injection, OWASP). Every text cell is therefore made inert here, and nowhere else:

- a text cell whose first non-blank character is a formula trigger (ASCII or full-width, since Japanese
  spreadsheets accept `＝` too) gets a leading apostrophe, the spreadsheet convention for "this is text";
  a plain number (`-1200`, `+5`, `3.14`) is left alone, so numbers stay numbers, negative ones included;
- control characters (C0 except line feed, DEL, C1) and bidirectional-override characters, which can hide or
  reorder what the officer sees, are written as visible `<U+XXXX>` marks; a line feed stays (a quoted CSV cell
  may hold one, and a multi-line quarantined record is shown as it was delivered).

Integers are written as numbers; None is an empty cell; an empty string is `""` (so the two stay apart, as in
DuckDB's own CSV writer). Files are UTF-8, `\n` line endings, quoted only where RFC 4180 needs it, and written
to a private temporary file in the target folder that is then renamed into place: a reader never sees half a
file, and re-running gives the same bytes.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from contracts.validation import BIDI_CONTROLS

FORMULA_TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
_UNSAFE_CHARACTER = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_NEEDS_QUOTES = re.compile('[,"\r\n]')
TEXT_MARK = "'"


def _visible(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def show_controls(text: str) -> str:
    """`text` with every control and bidirectional-override character (line feed aside) as a visible
    `<U+XXXX>` mark: also what a terminal table shows, so a delivered escape sequence never drives the terminal."""
    return _UNSAFE_CHARACTER.sub(_visible, text)


def neutralise_text(text: str) -> str:
    """`text` as a cell a spreadsheet shows and never runs (see the module docstring)."""
    shown = show_controls(text)
    if _PLAIN_NUMBER.fullmatch(shown):
        return shown
    first = shown.lstrip()[:1]
    if first in FORMULA_TRIGGERS:
        return TEXT_MARK + shown
    return shown


def officer_cell(value: object) -> str | None:
    """One value as officer-CSV text; None stays None (an empty cell). Integers are numbers; every other value
    (dates, text, decimals) is written as its text and neutralised."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return neutralise_text(str(value))


def _field(cell: str | None) -> str:
    if cell is None:
        return ""
    if cell == "" or _NEEDS_QUOTES.search(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def officer_csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The text of an officer CSV: a header row, then one line per row, every cell through `officer_cell`."""
    lines = [",".join(_field(officer_cell(c)) for c in columns)]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} values for {len(columns)} columns")
        lines.append(",".join(_field(officer_cell(v)) for v in row))
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, data: bytes) -> Path:
    """Write `path` atomically (private temporary file in the same folder, fsync, rename, fsync of the folder):
    a reader finds the old file or the whole new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), 0o640)  # mkstemp's 0600, widened to the owner's group: officers share one
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def write_officer_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write an officer CSV at `path` atomically (write_atomically)."""
    return write_atomically(path, officer_csv_text(columns, rows).encode("utf-8"))
