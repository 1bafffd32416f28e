"""The municipality master shipped with seisan: every 全国地方公共団体コード with name, kana and kind.

`contracts/data/municipalities.csv` (CC0, from code4fukui/localgovjp; see contracts/data/README.md) is the list the
simulator picks real municipalities from and that tests check check digits against. It is reference data, not the
master in force: the municipalities master delivered in the inbox is what settlement uses.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MUNICIPALITIES_CSV = Path(__file__).resolve().parent / "data" / "municipalities.csv"
KINDS = ("prefecture", "city", "ward", "town", "village", "special_ward")


@dataclass(frozen=True, slots=True)
class Municipality:
    """One row: municipality_code (6 digits, check digit included), prefecture, name, name_kana (full-width
    katakana), kind (one of KINDS; `ward` = a designated city's ward, which is not a local government)."""

    municipality_code: str
    prefecture: str
    name: str
    name_kana: str
    kind: str


@lru_cache(maxsize=4)
def load_municipalities(path: Path = MUNICIPALITIES_CSV) -> tuple[Municipality, ...]:
    """Every row of the municipality list, in file order (sorted by code)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(Municipality(**row) for row in csv.DictReader(handle))
