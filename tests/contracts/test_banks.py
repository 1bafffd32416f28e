"""Bank and branch codes over zengin-code: validation, half-width names, data date, lazy import."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from contracts import banks
from contracts.kana import FieldClass, byte_length, zengin_char_problems


@pytest.mark.parametrize("code", ["0001", "0005", "0009", "9900"])
def test_known_banks(code: str) -> None:
    assert banks.is_valid_bank_code(code)


@pytest.mark.parametrize("code", ["0002", "1", "00001", "abcd", "", "０００１"])
def test_unknown_or_malformed_banks(code: str) -> None:
    assert not banks.is_valid_bank_code(code)


def test_branches() -> None:
    assert banks.is_valid_branch("0001", "004")
    assert banks.is_valid_branch("9900", "018")  # ゆうちょ 〇一八 (zengin.md §8)
    assert not banks.is_valid_branch("0001", "999")
    assert not banks.is_valid_branch("0002", "004")
    assert not banks.is_valid_branch("0001", "04")


def test_names_half_width() -> None:
    assert banks.bank_name_kana("0005") == "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ"  # －→-, small kana already enlarged
    assert banks.bank_name_kana("9900") == "ﾕｳﾁﾖ"
    assert banks.branch_name_kana("9900", "018") == "ｾﾞﾛｲﾁﾊﾁ"
    assert banks.branch_name_kana("0001", "004") == "ﾏﾙﾉｳﾁﾁﾕｳｵｳ"


def test_unknown_names_raise() -> None:
    with pytest.raises(KeyError):
        banks.bank_name_kana("0002")
    with pytest.raises(KeyError):
        banks.branch_name_kana("0001", "999")
    with pytest.raises(KeyError):
        banks.branch_codes("0002")


def test_code_lists() -> None:
    codes = banks.bank_codes()
    assert codes == sorted(codes) and len(codes) > 1000
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    branches = banks.branch_codes("0001")
    assert "004" in branches and branches == sorted(branches)


def test_every_name_fits_15_bytes_and_is_zengin_text() -> None:
    # Every name is a 15-byte Zengin name; only a few foreign banks use '.', which strict bank-name fields
    # reject (zengin.md §7).
    dotted = []
    for code in banks.bank_codes():
        name = banks.bank_name_kana(code)
        assert 1 <= byte_length(name) <= 15, (code, name)
        if zengin_char_problems(name, FieldClass.BANK_NAME):
            assert not zengin_char_problems(name, FieldClass.PARTY_NAME), (code, name)
            dotted.append(code)
    assert len(dotted) < 30
    for branch in banks.branch_codes("0001"):
        name = banks.branch_name_kana("0001", branch)
        assert byte_length(name) <= 15 and not zengin_char_problems(name, FieldClass.BANK_NAME)


def test_data_date() -> None:
    assert isinstance(banks.DATA_DATE, dt.date)
    assert banks.DATA_DATE >= dt.date(2026, 8, 24)
    from importlib.metadata import version

    assert version("zengin-code").endswith(banks.DATA_DATE.strftime("%Y%m%d"))


def test_import_is_lazy() -> None:
    # The reader agent imports contracts without zengin-code or jaconv installed.
    code = ("import sys; import contracts.banks, contracts.kana, contracts.era, contracts.zengin_statement, "
            "contracts.zengin_transfer; "
            "assert 'zengin_code' not in sys.modules and 'jaconv' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
