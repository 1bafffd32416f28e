"""Every import rule of the house, in one place (docs/architecture.md, "Rooms").

Each top-level folder of the repository is a room; RULES says which other rooms it may import. Imports are read
with `ast` from every Python file (function-level imports and `importlib.import_module("…")` with a literal
name included), so a rule cannot be dodged by importing late. Third-party imports are not this test's business
(tests/reader_agent/test_imports.py checks that the reader agent runs without the back office's libraries).

Rooms that do not exist yet (reconciliation, payments) are in the table already, so the next rooms are held to
it from their first file; a new top-level Python folder not in the table fails here until it is given a rule.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = frozenset({".venv", ".git", "node_modules", "target", "dbt_packages", "logs", "var", "__pycache__"})

# room → the rooms of ours it may import (itself always). "nothing imports dags" holds because no entry lists it.
RULES: dict[str, frozenset[str]] = {
    "contracts": frozenset(),
    "reader_agent": frozenset({"contracts"}),
    "simulator": frozenset({"contracts"}),
    "reader_harness": frozenset({"contracts", "reader_agent"}),
    "ingestion": frozenset({"contracts"}),
    "reconciliation": frozenset({"contracts"}),
    "payments": frozenset({"contracts", "reconciliation"}),
    "reports": frozenset({"contracts"}),
    "audit": frozenset({"contracts"}),
    "dbt": frozenset(),
    "seisan": frozenset({"contracts", "reader_agent", "simulator", "reader_harness", "ingestion", "reconciliation",
                         "payments", "reports", "audit", "console"}),
    # The console is an application shell like seisan/: every action must call the very functions the command line
    # calls (issue 13: it adds no business rule), so it imports the rooms they live in and seisan's configuration,
    # home lock and step functions. Nothing imports the console but seisan's command line (`seisan console`).
    "console": frozenset({"contracts", "reconciliation", "payments", "reports", "audit", "seisan"}),
    "dags": frozenset({"seisan"}),
    "tests": frozenset({"contracts", "reader_agent", "simulator", "reader_harness", "ingestion", "reconciliation",
                        "payments", "reports", "audit", "seisan", "console", "tests"}),
}
ROOMS = frozenset(RULES)
# What an import can name: every room but dbt/, which is a dbt project, not a Python package (`import dbt` is
# dbt-core's; the project's Python models are run by dbt, never imported).
IMPORTABLE_ROOMS = ROOMS - {"dbt"}


@dataclass(frozen=True, slots=True)
class ImportSeen:
    """One import of a room of ours: the importing file (relative), its line, and the module named."""

    file: str
    line: int
    module: str


def _python_files() -> list[Path]:
    files = []
    for folder, dirs, names in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        files += [Path(folder) / name for name in names if name.endswith(".py")]
    return sorted(files)


def _room(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).parts
    return parts[0] if len(parts) > 1 else "<repository root>"


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every absolute module name the tree imports, anywhere in it (with its line)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and _is_import_module_call(node.func)):
            found.append((node.lineno, node.args[0].value))
    return found


def _is_import_module_call(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in {"import_module", "__import__"})


def imports_of_ours(path: Path) -> list[ImportSeen]:
    tree = ast.parse(path.read_bytes(), filename=str(path))
    relative = str(path.relative_to(REPO_ROOT))
    return [ImportSeen(relative, line, module) for line, module in _imported_modules(tree)
            if module.split(".")[0] in IMPORTABLE_ROOMS]


def violations() -> list[str]:
    found = []
    for path in _python_files():
        room = _room(path)
        if room not in RULES:
            found.append(f"{path.relative_to(REPO_ROOT)}: room {room!r} has no import rule; add it to RULES in "
                         "tests/test_architecture.py and to docs/architecture.md")
            continue
        allowed = RULES[room] | {room}
        for seen in imports_of_ours(path):
            target = seen.module.split(".")[0]
            if target not in allowed:
                found.append(f"{seen.file}:{seen.line}: {room} imports {seen.module}; {room} may import only "
                             f"{sorted(RULES[room]) or 'nothing of ours'}")
    return found


def test_every_room_keeps_its_import_rule() -> None:
    assert violations() == []


def test_nothing_imports_dags() -> None:
    assert all("dags" not in allowed for allowed in RULES.values())


def test_the_rule_table_is_the_documented_one() -> None:
    """docs/architecture.md's room table names every room that exists and the rooms to come (a newcomer reads
    the rules there)."""
    text = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    expected = [room for room in RULES if (REPO_ROOT / room).is_dir() or room in {"reconciliation", "payments"}]
    missing = [room for room in expected if f"`{room}/`" not in text]
    assert missing == []


@pytest.mark.parametrize("source, expected", [
    ("import seisan", ["seisan"]),
    ("def f():\n    from seisan.steps import ingest_step\n", ["seisan.steps"]),
    ("class A:\n    def f(self):\n        import dags.settlement_daily as d\n", ["dags.settlement_daily"]),
    ("import importlib\nimportlib.import_module('ingestion.run')\n", ["ingestion.run"]),
    ("from . import sibling\nimport json\nfrom duckdb import connect\nimport dbt.cli.main\n", []),
    ("try:\n    import reports\nexcept ImportError:\n    pass\n", ["reports"]),
])
def test_the_checker_sees_every_kind_of_import(tmp_path: Path, source: str, expected: list[str]) -> None:
    """The checker itself, on hand-written files: top-level, function-level, nested, dynamic and guarded
    imports are all seen; relative and third-party ones are not rooms of ours."""
    tree = ast.parse(source)
    seen = [module for _, module in _imported_modules(tree) if module.split(".")[0] in IMPORTABLE_ROOMS]
    assert seen == expected
