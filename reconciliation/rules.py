"""Reconciliation rules are data: one YAML file per pair in reconciliation/rules/ (docs/reconciliation.md,
"Rule files"). This module loads and validates them into typed, frozen rules; it never touches the warehouse.

Every problem found is reported with the file and the place in it (`RuleError`), so a bad rule file fails the
run before any SQL is composed. Column and relation names are checked as SQL identifiers here, because the
engine splices them into SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.reasons import BreakCode

RULES_DIR = Path(__file__).resolve().parent / "rules"

KINDS = ("pair", "check")
CARDINALITIES = ("1:1", "1:n", "n:1")
UNITS = ("yen", "seconds", "days")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_RELATION = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_PAIR_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_BREAK_CODES = frozenset(code.value for code in BreakCode)

_TOP_KEYS = {"pair", "description", "kind", "left", "side", "right", "cardinality", "compare", "orphans",
             "break", "window", "right_source", "changes"}
_SIDE_KEYS = {"source", "relation", "key", "date", "municipality", "amount", "lineage", "pending_while"}
_SIDE_REQUIRED = ("source", "relation", "key", "date", "municipality", "amount", "lineage")


class RuleError(ValueError):
    """A rule file that cannot be used: every problem, each naming the file and where in it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far two values may differ and still agree. value: a non-negative integer; unit: yen | seconds | days."""

    value: int
    unit: str


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a pair (or the one side of a check).

    source: name shown as left_source/right_source; relation: `schema.table` read by the engine; key: key
    columns; date: the row's business date column (a timestamp counts by its calendar date; scope, window,
    findings.business_date); municipality: the municipality_code column; amount: integer-yen column (amount at
    risk of an orphan; summed on an n side); lineage: [file_sha256 column, line_number column]; pending_while:
    optional boolean column: an orphan of this side stays `pending` (open-ended) while it is true (e.g. its
    terminal has an open seq gap)."""

    source: str
    relation: str
    key: tuple[str, ...]
    date: str
    municipality: str
    amount: str
    lineage: tuple[str, str]
    pending_while: str | None = None


@dataclass(frozen=True, slots=True)
class Compare:
    """One field compared on a matched pair; a disagreement beyond the tolerance is one `break_code` finding.
    No tolerance: the values must be equal (NULL equals NULL)."""

    left: str
    right: str
    break_code: str
    tolerance: Tolerance | None = None


@dataclass(frozen=True, slots=True)
class Orphan:
    """What a row without counterpart raises: break_code, pending while run_date < row date + window."""

    break_code: str
    window: Tolerance | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule file. kind pair: left/right/cardinality/compare/orphans, `changes` an optional relation of the
    business dates whose rows either side may have changed and when (business_date DATE, changed_at TIMESTAMP, UTC):
    the engine then matches only the dates changed since the pair's previous run (docs/reconciliation.md, "Matching
    only what changed"); kind check: `left` is the one side, `break_code` a fixed code or None (then the
    relation's `break_code` column), `window` an optional pending window, `right_source` an optional name for
    right_source."""

    pair: str
    description: str
    kind: str
    left: Side
    path: Path
    right: Side | None = None
    cardinality: str = "1:1"
    compare: tuple[Compare, ...] = ()
    left_orphan: Orphan | None = None
    right_orphan: Orphan | None = None
    break_code: str | None = None
    window: Tolerance | None = None
    right_source: str | None = None
    changes: str | None = None


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{self.path.name}: {where}: {message}")


def load_rules(rules_dir: Path = RULES_DIR) -> tuple[Rule, ...]:
    """Every `*.yml` rule of rules_dir, sorted by pair name. Raises RuleError listing every problem of every file,
    including two files naming the same pair."""
    problems: list[str] = []
    rules: list[Rule] = []
    paths = sorted(rules_dir.glob("*.yml"))
    for path in paths:
        try:
            rules.append(load_rule(path))
        except RuleError as error:
            problems.extend(error.problems)
    seen: dict[str, Path] = {}
    for rule in rules:
        if rule.pair in seen:
            other = seen[rule.pair].name
            problems.append(f"{rule.path.name}: pair: duplicate pair name {rule.pair!r} (also in {other})")
        seen[rule.pair] = rule.path
    if problems:
        raise RuleError(problems)
    return tuple(sorted(rules, key=lambda r: r.pair))


def load_rule(path: Path) -> Rule:
    """One rule file, validated. Raises RuleError with every problem found."""
    problems = _Problems(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RuleError([f"{path.name}: not valid YAML: {error}"]) from None
    if not isinstance(data, Mapping):
        raise RuleError([f"{path.name}: a rule file is a mapping, not {type(data).__name__}"])
    rule = _parse_rule(data, path, problems)
    if problems.items or rule is None:
        raise RuleError(problems.items)
    return rule


def _parse_rule(data: Mapping[str, Any], path: Path, problems: _Problems) -> Rule | None:
    for key in sorted(set(data) - _TOP_KEYS):
        problems.add(key, "unknown key")
    pair = _text(data, "pair", "pair", problems)
    if pair is not None and not _PAIR_NAME.match(pair):
        problems.add("pair", f"{pair!r} is not a lowercase name")
    if pair is not None and pair != path.stem:
        problems.add("pair", f"{pair!r} must equal the file name {path.stem!r}")
    description = _text(data, "description", "description", problems)
    kind = data.get("kind", "pair")
    if kind not in KINDS:
        problems.add("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        return None
    if kind == "check":
        return _parse_check(data, path, problems, pair or "", description or "")
    return _parse_pair(data, path, problems, pair or "", description or "")


def _parse_pair(data: Mapping[str, Any], path: Path, problems: _Problems, pair: str, description: str) -> Rule | None:
    for key in ("side", "break", "window", "right_source"):
        if key in data:
            problems.add(key, "only a check has this key")
    left = _side(data.get("left"), "left", problems)
    right = _side(data.get("right"), "right", problems)
    cardinality = data.get("cardinality", "1:1")
    if cardinality not in CARDINALITIES:
        problems.add("cardinality", f"{cardinality!r} is not one of {', '.join(CARDINALITIES)}")
    if left and right and len(left.key) != len(right.key):
        problems.add("key", f"left has {len(left.key)} key columns, right {len(right.key)}")
    compares = _compares(data.get("compare", []), problems)
    orphans = data.get("orphans")
    if not isinstance(orphans, Mapping):
        problems.add("orphans", "required: a mapping with left and right")
        orphans = {}
    for key in sorted(set(orphans) - {"left", "right"}):
        problems.add(f"orphans.{key}", "unknown key")
    left_orphan = _orphan(orphans.get("left"), "orphans.left", problems)
    right_orphan = _orphan(orphans.get("right"), "orphans.right", problems)
    if left is None or right is None or left_orphan is None or right_orphan is None:
        return None
    changes = _changes(data.get("changes"), left, right, (left_orphan, right_orphan), problems)
    return Rule(pair=pair, description=description, kind="pair", left=left, right=right, path=path,
                cardinality=cardinality, compare=compares, left_orphan=left_orphan, right_orphan=right_orphan,
                changes=changes)


def _changes(relation: Any, left: Side, right: Side, orphans: tuple[Orphan, Orphan], problems: _Problems) -> str | None:
    """A pair matched by changed dates only: its findings on dates not matched again are carried from the previous
    run unchanged, which is right only when a finding depends on nothing but its own date's rows. So the date must
    be a key column of both sides, at the same place (a key never spans two dates), and nothing may turn a finding
    from pending into a break by the passing of time alone (no orphan window, no pending_while)."""
    if relation is None:
        return None
    if not isinstance(relation, str) or not _RELATION.match(relation):
        problems.add("changes", f"{relation!r} is not schema.table")
        return None
    if left.date not in left.key or right.date not in right.key or (
            left.key.index(left.date) != right.key.index(right.date)):
        problems.add("changes", "the date of each side must be one of its key columns, at the same place")
    if any(orphan.window for orphan in orphans) or left.pending_while or right.pending_while:
        problems.add("changes", "a pair matched by changed dates can have no orphan window and no pending_while")
    return relation


def _parse_check(data: Mapping[str, Any], path: Path, problems: _Problems, pair: str, description: str) -> Rule | None:
    for key in ("right", "cardinality", "compare", "orphans"):
        if key in data:
            problems.add(key, "a check has one side and no matching keys")
    if "changes" in data:
        problems.add("changes", "only a pair has this key (a check lists its relation's rows; it matches nothing)")
    if ("left" in data) == ("side" in data):
        problems.add("left", "a check names its one side as `left` (or `side`), exactly once")
        return None
    name = "left" if "left" in data else "side"
    side = _side(data[name], name, problems, check=True)
    break_code = data.get("break")
    if break_code is not None:
        _check_code(break_code, "break", problems)
    window = _tolerance(data["window"], "window", problems, ("days", "seconds")) if "window" in data else None
    right_source = data.get("right_source")
    if right_source is not None and not isinstance(right_source, str):
        problems.add("right_source", "must be text")
    if side is None:
        return None
    return Rule(pair=pair, description=description, kind="check", left=side, path=path, break_code=break_code,
                window=window, right_source=right_source)


def _text(data: Mapping[str, Any], key: str, where: str, problems: _Problems) -> str | None:
    value = data.get(key)
    if value is None:
        problems.add(where, "missing key")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(where, "must be non-empty text")
        return None
    return value


def _identifier(value: Any, where: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        problems.add(where, f"{value!r} is not a column name (lowercase letters, digits, _)")
        return None
    return value


def _default_source(relation: Any) -> str:
    """A check's source when the file names none: `rec_<source>__<what>` gives <source>, else the table name."""
    table = str(relation).rsplit(".", 1)[-1]
    match = re.match(r"^rec_([a-z0-9_]+?)__", table)
    return match.group(1) if match else table


def _side(data: Any, where: str, problems: _Problems, *, check: bool = False) -> Side | None:
    if not isinstance(data, Mapping):
        problems.add(where, "missing key" if data is None else "must be a mapping")
        return None
    for key in sorted(set(data) - _SIDE_KEYS):
        problems.add(f"{where}.{key}", "unknown key")
    if check and "source" not in data:
        data = {**data, "source": _default_source(data.get("relation"))}
    ok = True
    for key in _SIDE_REQUIRED:
        if key not in data:
            problems.add(f"{where}.{key}", "missing key")
            ok = False
    if not ok:
        return None
    source = data["source"]
    if not isinstance(source, str) or not _IDENTIFIER.match(source):
        problems.add(f"{where}.source", f"{source!r} is not a lowercase name")
    relation = data["relation"]
    if not isinstance(relation, str) or not _RELATION.match(relation):
        problems.add(f"{where}.relation", f"{relation!r} is not schema.table")
    keys = data["key"]
    if not isinstance(keys, list) or not keys:
        problems.add(f"{where}.key", "must be a non-empty list of columns")
        keys = []
    key = tuple(_identifier(k, f"{where}.key", problems) or "" for k in keys)
    lineage = data["lineage"]
    if not isinstance(lineage, list) or len(lineage) != 2:
        problems.add(f"{where}.lineage", "must be [file_sha256 column, line_number column]")
        lineage = ["", ""]
    columns = {name: _identifier(data[name], f"{where}.{name}", problems)
               for name in ("date", "municipality", "amount")}
    pending_while = data.get("pending_while")
    if pending_while is not None:
        pending_while = _identifier(pending_while, f"{where}.pending_while", problems)
    return Side(source=str(source), relation=str(relation), key=key, date=columns["date"] or "",
                municipality=columns["municipality"] or "", amount=columns["amount"] or "",
                lineage=(_identifier(lineage[0], f"{where}.lineage", problems) or "",
                         _identifier(lineage[1], f"{where}.lineage", problems) or ""),
                pending_while=pending_while)


def _compares(data: Any, problems: _Problems) -> tuple[Compare, ...]:
    if not isinstance(data, list):
        problems.add("compare", "must be a list")
        return ()
    result = []
    for index, item in enumerate(data):
        where = f"compare[{index}]"
        if not isinstance(item, Mapping):
            problems.add(where, "must be a mapping")
            continue
        for key in sorted(set(item) - {"left", "right", "tolerance", "break"}):
            problems.add(f"{where}.{key}", "unknown key")
        missing = [k for k in ("left", "right", "break") if k not in item]
        for key in missing:
            problems.add(f"{where}.{key}", "missing key")
        if missing:
            continue
        left = _identifier(item["left"], f"{where}.left", problems)
        right = _identifier(item["right"], f"{where}.right", problems)
        _check_code(item["break"], f"{where}.break", problems)
        tolerance = (_tolerance(item["tolerance"], f"{where}.tolerance", problems, UNITS)
                     if "tolerance" in item else None)
        if left and right:
            result.append(Compare(left=left, right=right, break_code=item["break"], tolerance=tolerance))
    return tuple(result)


def _orphan(data: Any, where: str, problems: _Problems) -> Orphan | None:
    if not isinstance(data, Mapping):
        problems.add(where, "missing key" if data is None else "must be a mapping")
        return None
    for key in sorted(set(data) - {"break", "window"}):
        problems.add(f"{where}.{key}", "unknown key")
    if "break" not in data:
        problems.add(f"{where}.break", "missing key")
        return None
    _check_code(data["break"], f"{where}.break", problems)
    window = _tolerance(data["window"], f"{where}.window", problems, ("days", "seconds")) if "window" in data else None
    return Orphan(break_code=data["break"], window=window)


def _tolerance(data: Any, where: str, problems: _Problems, units: tuple[str, ...]) -> Tolerance | None:
    if not isinstance(data, Mapping) or set(data) != {"value", "unit"}:
        problems.add(where, "must be {value: <integer>, unit: <unit>}")
        return None
    value, unit = data["value"], data["unit"]
    if unit not in units:
        problems.add(f"{where}.unit", f"unknown unit {unit!r} (one of {', '.join(units)})")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.add(f"{where}.value", f"{value!r} is not a non-negative integer")
        return None
    return Tolerance(value=value, unit=unit)


def _check_code(code: Any, where: str, problems: _Problems) -> None:
    if code not in _BREAK_CODES:
        problems.add(where, f"unknown break code {code!r} (contracts.reasons.BreakCode)")
