"""contracts.validation over a chunk of rows at once: the rows that pass every check, typed, column by column.

`validate_record` decides one row at a time in Python, about 20 µs a row: at national size (millions of rows a
day) that is most of ingestion. This module decides the same thing for whole columns with polars, and only in
one direction: it finds the rows that pass every check of `validate_row` (stages 1 to 7) and returns their
typed values; every other row is *undecided* and goes to `validate_record`, which alone says why a row is
refused and in which order. So no reason code is written here, and a row this module cannot decide costs what
it cost before.

It re-types no rule. What each column accepts comes from its `Column` in contracts.schemas; where a value is not
in the plain form checked below, or its pattern cannot be run by polars' regex engine (look-around, except a
leading look-ahead, which is run as two matches: `_leading_lookahead`), each distinct value is judged by
`validation.value_checked`, the row path's own function, once. The plain forms
decided without Python are subsets of what the rules accept, with the same typed value:
- every value: no control character (`validation.CONTROL_RANGES`), within the column's length bound, and (for
  id/text/enum/digits) ASCII and too short or too long to be a My Number (`codes.looks_like_my_number`'s
  own first test: under 12 characters, or not 12-14 once spaces are trimmed);
- id/digits: the column's pattern, run by polars as `^(?:pattern)$` (not for municipality codes: their check
  digit is judged per distinct value); enum: one of the values; text: anything;
- amount: up to 8 digits, a `-` only on a signed column, within `AMOUNT_MAX_YEN`, not `-0`; count: up to 18
  digits; decimal: `validation`'s decimal shape;
- date: YYYY-MM-DD from year 0001, a real calendar date; timestamp: YYYY-MM-DDThh:mm:ss+09:00 (the JST
  offset, so the wall-clock time is the stored value), a real date and time.
Rows are then checked against the cross-field rules (`validation.cross_field_rules`, called per row: they are
Python and their own owner), the date windows (`validation.date_bounds`) and the masters in force on the row's
date (`validation.reference_columns`, `row_date_columns`; `MasterLookup.known` asked once per distinct value
and date).

tests/contracts/test_validation_columnar.py holds it to that: for generated rows and every row of a hostile
simulated world, a row returned clean here is one `validate_record` passes with the same typed values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import polars as pl

from contracts.codes import MY_NUMBER_ASCII_CHARS, is_valid_municipality_code
from contracts.csvio import PlainLines
from contracts.limits import AMOUNT_MAX_YEN
from contracts.schemas import MUNICIPALITY_CODE, Column, ColumnType, FileKind
from contracts.validation import (
    CONTROL_RANGES,
    COUNT_MAX_DIGITS,
    ColumnPlan,
    RowContext,
    column_plans,
    cross_field_rules,
    date_bounds,
    dated_columns,
    pattern_regex,
    reference_columns,
    row_date_columns,
    value_checked,
)

ROW = "_row"  # the index of each clean row in the rows given
_CONTROL = "[" + "".join(f"\\x{{{low:x}}}-\\x{{{high:x}}}" for low, high in CONTROL_RANGES) + "]"
_NOT_ASCII = r"[^\x00-\x7F]"
_AMOUNT_DIGITS = len(str(AMOUNT_MAX_YEN))
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_JST_TIMESTAMP = _DATE + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\+09:00"
_DTYPES = {
    ColumnType.AMOUNT: pl.Int64,
    ColumnType.COUNT: pl.Int64,
    ColumnType.DATE: pl.Date,
    ColumnType.TIMESTAMP: pl.Datetime("us"),
}


def dtype_of(column_type: ColumnType) -> pl.DataType:
    """The polars type of a typed value of `column_type` (text for the rest)."""
    return _DTYPES.get(column_type, pl.String)


@cache
def _polars_runs(pattern: str) -> bool:
    """Whether polars' regex engine (Rust `regex`) can run `pattern` (it has no look-around)."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(f"^(?:{pattern})$")
    except pl.exceptions.ComputeError:
        return False
    return True


def _top_level_end(pattern: str, start: int) -> tuple[int, bool]:
    """(the index of the `)` closing the group open before `start`, or len(pattern) when none does; whether an
    alternation `|` stands outside every group on the way). Escapes and character classes are skipped."""
    depth, index, in_class, alternation = 0, start, False, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 2 if pattern.startswith("^]", index + 1) else 1 if pattern.startswith("]", index + 1) else 0
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return index, alternation
            depth -= 1
        elif char == "|" and depth == 0:
            alternation = True
        index += 1
    return len(pattern), alternation


@cache
def _leading_lookahead(pattern: str) -> tuple[str, str] | None:
    """(A, B) when `pattern` is `(?=A)B` and polars runs A and B (MyKey IDs: `(?=[A-Za-z0-9]*[A-Za-z])` then
    8-16 letters and digits). Matched against a whole value, the look-ahead at its start says the value starts
    with a match of A: so `^(?:A)` and `^(?:B)$` both matching is the pattern's own test, run by polars. None for
    any other pattern (B with an alternation outside its groups, say, which the look-ahead would not cover)."""
    if not pattern.startswith("(?="):
        return None
    end, _ = _top_level_end(pattern, 3)
    ahead, rest = pattern[3:end], pattern[end + 1 :]
    if end == len(pattern) or _top_level_end(rest, 0) != (len(rest), False):
        return None
    return (ahead, rest) if _polars_runs(ahead) and _polars_runs(rest) else None


def _full(expr: pl.Expr, pattern: str) -> pl.Expr:
    """Whether each whole value matches `pattern` (one polars runs, or a leading look-ahead over two it runs)."""
    split = None if _polars_runs(pattern) else _leading_lookahead(pattern)
    if split is not None:
        ahead, rest = split
        return expr.str.contains(f"^(?:{ahead})") & expr.str.contains(f"^(?:{rest})$")
    return expr.str.contains(f"^(?:{pattern})$")


def _plain(plan: ColumnPlan, text: pl.Expr, by_pattern: bool) -> tuple[pl.Expr, pl.Expr]:
    """(the value is in a plain form that passes, its typed value) for a non-empty value of the plan's column;
    `by_pattern`: the pattern of an id/digits column is left to `_by_pattern` (only safety is decided here)."""
    column = plan.column
    kind = column.type
    safe = ~text.str.contains(_CONTROL)
    if plan.max_chars is not None:
        safe = safe & (text.str.len_chars() <= plan.max_chars)
    if plan.my_number_checked:
        trimmed = text.str.strip_chars(" ").str.len_bytes()
        low, high = MY_NUMBER_ASCII_CHARS
        safe = safe & ~text.str.contains(_NOT_ASCII) & (
            (text.str.len_bytes() < low) | (trimmed < low) | (trimmed > high)
        )
    if kind in (ColumnType.ID, ColumnType.DIGITS):
        return (safe, text) if by_pattern else (safe & _full(text, column.pattern or r"(?s).*"), text)
    if kind is ColumnType.ENUM:
        return safe & text.is_in(list(column.values)), text
    if kind is ColumnType.TEXT:
        return safe, text
    if kind is ColumnType.AMOUNT:
        sign = "-?" if column.signed else ""
        value = text.str.to_integer(strict=False)
        shaped = _full(text, f"{sign}[0-9]{{1,{_AMOUNT_DIGITS}}}")
        minus_zero = text.str.starts_with("-") & (value == 0)
        return safe & shaped & (value.abs() <= AMOUNT_MAX_YEN) & ~minus_zero, value
    if kind is ColumnType.COUNT:
        return safe & _full(text, f"[0-9]{{1,{COUNT_MAX_DIGITS}}}"), text.str.to_integer(strict=False)
    if kind is ColumnType.DECIMAL:
        return safe & _full(text, r"[0-9]+(?:\.[0-9]+)?"), text
    if kind is ColumnType.DATE:
        value = text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        shaped = _full(text, _DATE) & ~text.str.starts_with("0000")
        return safe & shaped & value.is_not_null(), value
    if kind is ColumnType.TIMESTAMP:
        value = text.str.slice(0, 19).str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False)
        shaped = _full(text, _JST_TIMESTAMP) & ~text.str.starts_with("0000")
        return safe & shaped & value.is_not_null(), value
    raise ValueError(f"no plain form for column type {kind}")


def _by_pattern(column: Column) -> Callable[[str], bool] | None:
    """For an id/digits column whose pattern polars cannot run, or a municipality code: the test a safe value
    still has to pass (`validation.pattern_regex`, and the check digit); None when `_plain` decides it all."""
    if column.type not in (ColumnType.ID, ColumnType.DIGITS):
        return None
    matches = pattern_regex(column.pattern).fullmatch
    if column.pattern == MUNICIPALITY_CODE:
        return lambda text: matches(text) is not None and is_valid_municipality_code(text)
    if column.pattern is None or _polars_runs(column.pattern) or _leading_lookahead(column.pattern) is not None:
        return None
    return lambda text: matches(text) is not None


def _typed_column(frame: pl.DataFrame, plan: ColumnPlan) -> tuple[pl.Series, pl.Series]:
    """(value passes, typed value) for every row of `frame` in one column: plain forms in polars, the other
    distinct values by `value_checked`; an empty value passes (as None) unless the column is required."""
    column = plan.column
    name = column.name
    dtype = dtype_of(column.type)
    text = pl.col(name)
    by_pattern = _by_pattern(column)
    plain_ok, plain_value = _plain(plan, text, by_pattern is not None)
    judged = frame.select(
        empty=text.str.len_bytes() == 0,
        plain=plain_ok.fill_null(False),
        value=plain_value.cast(dtype),
        text=text,
    )
    empty, plain = judged["empty"], judged["plain"]
    if by_pattern is not None:  # safe values: the pattern (and a check digit) per distinct value, in Python
        safe_values = judged.filter(~empty & plain)["text"].unique()
        passing = [t for t in safe_values.to_list() if by_pattern(t)]
        plain = plain & judged["text"].is_in(pl.Series(passing, dtype=pl.String).implode())
    ok, value = plain, judged["value"]
    others = judged.filter(~empty & ~plain)["text"].unique()
    if others.len():
        verdicts = [value_checked(plan, t) for t in others.to_list()]
        passed = pl.DataFrame(
            {
                "text": others,
                "ok": pl.Series([problem is None for _, problem in verdicts], dtype=pl.Boolean),
                "typed": pl.Series([v for v, _ in verdicts], dtype=dtype),
            }
        )
        looked_up = judged.select("text").join(passed, on="text", how="left", maintain_order="left")
        ok = ok | looked_up["ok"].fill_null(False)
        value = pl.select(pl.when(plain).then(value).otherwise(looked_up["typed"])).to_series()
    ok = (empty & (not column.required)) | (~empty & ok)
    value = pl.select(pl.when(empty).then(None).otherwise(value)).to_series().cast(dtype)
    return ok.alias(name), value.alias(name)


def _in_window(kind: FileKind, typed: pl.DataFrame, business_date: dt.date) -> pl.Series:
    """Stage 6 over typed rows: every date and timestamp within its window (empty values pass)."""
    ok = pl.Series([True] * typed.height, dtype=pl.Boolean)
    for column in dated_columns(kind):
        low, high = date_bounds(kind, column, business_date)
        value = pl.col(column.name)
        day = value.dt.date() if column.type is ColumnType.TIMESTAMP else value
        within = typed.select((value.is_null() | day.is_between(low, high)).alias("w"))["w"]
        ok = ok & within
    return ok


def _known(kind: FileKind, typed: pl.DataFrame, context: RowContext) -> pl.Series:
    """Stage 7 over typed rows: every reference known in its master in force on the row's date."""
    ok = pl.Series([True] * typed.height, dtype=pl.Boolean)
    masters = context.masters
    references = reference_columns(kind)
    if masters is None or not references or typed.height == 0:
        return ok
    on = pl.coalesce([pl.col(c.name).dt.date() for c in row_date_columns(kind)] + [pl.lit(context.business_date)])
    for column_name, master, _ in references:
        pairs = typed.select(key=pl.col(column_name), on=on)
        distinct = pairs.drop_nulls("key").unique()
        known = distinct.with_columns(
            known=pl.Series(
                [masters.known(master, key, day) for key, day in distinct.iter_rows()], dtype=pl.Boolean
            )
        )
        looked_up = pairs.join(known, on=["key", "on"], how="left", maintain_order="left")
        ok = ok & (pairs["key"].is_null() | looked_up["known"].fill_null(False))
    return ok


def _cross_ok(kind: FileKind, typed: pl.DataFrame) -> pl.Series:
    """Stage 5 over typed rows: each rule of `validation.cross_field_rules` (Python, their one owner) called
    once per distinct projection of the rows onto what it reads (`CrossRule`: values, presence, signs)."""
    ok = pl.Series([True] * typed.height, dtype=pl.Boolean)
    for rule in cross_field_rules(kind):
        projection = typed.select(
            [pl.col(name) for name in rule.values]
            + [pl.when(pl.col(name).is_not_null()).then(True).alias(name) for name in rule.present]
            + [pl.col(name).sign().alias(name) for name in rule.signs]
        )
        distinct = projection.unique()
        names = distinct.columns
        passes = [not rule(dict(zip(names, row, strict=True))) for row in distinct.iter_rows()]
        judged = distinct.with_columns(_passes=pl.Series(passes, dtype=pl.Boolean))
        looked_up = projection.join(judged, on=names, how="left", nulls_equal=True, maintain_order="left")
        ok = ok & looked_up["_passes"].fill_null(False)
    return ok


def clean_rows(
    kind: FileKind, header: Sequence[str], rows: Sequence[Sequence[str]] | PlainLines, context: RowContext
) -> tuple[pl.DataFrame, list[int]]:
    """(the rows that pass every check, typed, with column ROW = their index in `rows`; the indexes of the
    other rows, ascending, for `validate_record`). `rows`: each row's fields, or plain lines split here.
    `header` holds exactly the kind's columns (the caller checked it, `validation.header_problem`)."""
    if isinstance(rows, PlainLines):
        return _clean_frame(kind, *_split_plain(header, rows), context)
    width = len(header)
    if all(len(fields) == width for fields in rows):
        whole: Sequence[Sequence[str]] = rows
        split: list[int] = []
        index = pl.int_range(0, len(rows), dtype=pl.Int64)
    else:
        kept = [i for i, fields in enumerate(rows) if len(fields) == width]
        whole = [rows[i] for i in kept]
        split = [i for i, fields in enumerate(rows) if len(fields) != width]
        index = pl.Series(kept, dtype=pl.Int64)
    if not whole:
        return no_rows(kind), split
    # column by column: polars builds a frame from rows at about half the speed
    frame = pl.DataFrame(dict(zip(header, map(list, zip(*whole, strict=True)), strict=True)),
                         schema={name: pl.String for name in header})
    return _clean_frame(kind, frame, index, split, context)


def _split_plain(header: Sequence[str], rows: PlainLines) -> tuple[pl.DataFrame, pl.Series, list[int]]:
    """(the fields of every row with as many as `header` has, as text columns; their indexes in `rows`; the
    indexes of the other rows): each line, line ending removed, split at every comma (`PlainLines`)."""
    fields = pl.Series("line", rows.lines, dtype=pl.String).str.strip_chars_end("\r\n").str.split(",")
    whole = fields.list.len() == len(header)
    if whole.all():
        index, split = pl.int_range(0, len(rows), dtype=pl.Int64, eager=True), []
    else:
        index, split = whole.arg_true().cast(pl.Int64), (~whole).arg_true().to_list()
        fields = fields.filter(whole)
    frame = pl.DataFrame({name: fields.list.get(position) for position, name in enumerate(header)})
    return frame, index, split


def _clean_frame(
    kind: FileKind, frame: pl.DataFrame, index: pl.Series | pl.Expr, split: list[int], context: RowContext
) -> tuple[pl.DataFrame, list[int]]:
    """`clean_rows` for the rows of `frame` (text columns named as the kind's), `index` their indexes in the
    caller's rows, `split` the indexes of the rows with too few or too many fields."""
    if frame.height == 0:
        return no_rows(kind), split
    ok = pl.Series([True] * frame.height, dtype=pl.Boolean)
    typed: dict[str, pl.Series] = {}
    for plan in column_plans(kind):
        column_ok, value = _typed_column(frame, plan)
        ok = ok & column_ok
        typed[plan.column.name] = value
    rows_typed = pl.DataFrame(typed).with_columns(index.alias(ROW))
    candidates = rows_typed.filter(ok)
    passed = candidates.filter(
        _cross_ok(kind, candidates.drop(ROW))
        & _in_window(kind, candidates, context.business_date)
        & _known(kind, candidates, context)
    )
    refused = rows_typed.select(ROW).join(passed.select(ROW), on=ROW, how="anti")[ROW].to_list()
    return passed, sorted(split + refused) if split else refused


def no_rows(kind: FileKind) -> pl.DataFrame:
    """The frame `clean_rows` returns when no row is clean: the kind's typed columns and ROW, no rows."""
    schema: dict[str, Any] = {c.name: dtype_of(c.type) for c in kind.columns}
    schema[ROW] = pl.Int64
    return pl.DataFrame(schema=schema)
