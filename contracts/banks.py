"""Bank and branch codes: a thin, cached layer over PyPI `zengin-code` (domain/zengin.md §7).

Answers "is this a bank code / a branch of that bank?" and gives the 15-byte half-width Zengin names.
`zengin-code` loads its whole dataset (~1,150 banks, ~29,000 branches) when imported, so it is imported lazily
inside the functions and the answers are cached; the reader agent imports `contracts` without installing it.

The dataset is third-party (credited to ykaku.com, not an official 全銀協 master): treat it as advisory. The
bank's 振込不能 result is the authority. Ship `DATA_DATE` (the version suffix, which is the data date) in
reports. This module must never fetch data from the network and never guess a name for an unknown code.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

_BANK_CODE_RE = re.compile(r"^[0-9]{4}$")
_BRANCH_CODE_RE = re.compile(r"^[0-9]{3}$")
# zengin-code writes the long vowel as U+FF0D and word breaks as U+FF0E (zengin.md §7).
_NAME_MAP = str.maketrans({"－": "-", "．": "."})


@lru_cache(maxsize=1)
def _banks() -> Any:
    from zengin_code import Bank  # lazy: ~0.2-0.6 s and ~20 MB; not needed by the reader agent

    return Bank.all


def _half_width_name(full_width_kana: str) -> str:
    import jaconv  # lazy, like zengin_code

    mapped = full_width_kana.translate(_NAME_MAP)
    return jaconv.z2h(mapped, kana=True, ascii=True, digit=True)


def is_valid_bank_code(code: str) -> bool:
    """True when `code` is 4 ASCII digits and a bank in the dataset."""
    return isinstance(code, str) and bool(_BANK_CODE_RE.match(code)) and code in _banks()


def is_valid_branch(bank_code: str, branch_code: str) -> bool:
    """True when `branch_code` is 3 ASCII digits and a branch of the bank `bank_code`."""
    if not is_valid_bank_code(bank_code):
        return False
    return isinstance(branch_code, str) and bool(_BRANCH_CODE_RE.match(branch_code)) and (
        branch_code in _banks()[bank_code].branches
    )


@lru_cache(maxsize=2048)
def bank_name_kana(code: str) -> str:
    """The bank's half-width Zengin name (at most 15 bytes), e.g. 0005 -> ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ; KeyError if unknown.

    A few foreign-bank names contain `.` or spaces, which strict bank-name fields reject; leave 銀行名 blank
    in a transfer file for those (zengin.md §7).
    """
    if not is_valid_bank_code(code):
        raise KeyError(f"unknown bank code {code!r}")
    return _half_width_name(_banks()[code].kana)


@lru_cache(maxsize=8192)
def branch_name_kana(bank_code: str, branch_code: str) -> str:
    """The branch's half-width Zengin name (at most 15 bytes); KeyError if the pair is unknown."""
    if not is_valid_branch(bank_code, branch_code):
        raise KeyError(f"unknown branch {bank_code!r}/{branch_code!r}")
    return _half_width_name(_banks()[bank_code].branches[branch_code].kana)


@lru_cache(maxsize=1)
def _bank_codes() -> tuple[str, ...]:
    return tuple(sorted(_banks()))


def bank_codes() -> list[str]:
    """Every bank code in the dataset, sorted."""
    return list(_bank_codes())


def branch_codes(bank_code: str) -> list[str]:
    """Every branch code of `bank_code`, sorted; KeyError if the bank is unknown."""
    if not is_valid_bank_code(bank_code):
        raise KeyError(f"unknown bank code {bank_code!r}")
    return sorted(_banks()[bank_code].branches)


@lru_cache(maxsize=1)
def data_date() -> dt.date:
    """The date of the bank data: the last part of zengin-code's version (1.1.0.20260824 -> 2026-08-24)."""
    from importlib.metadata import version

    suffix = version("zengin-code").rsplit(".", 1)[-1]
    return dt.datetime.strptime(suffix, "%Y%m%d").date()


def __getattr__(name: str) -> Any:
    # DATA_DATE is computed on first use so that importing this module needs no zengin-code metadata.
    if name == "DATA_DATE":
        return data_date()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
