"""The Zengin character set: names to half-width Zengin kana, checking a field's characters and bytes.

Zengin fields allow only single-byte JIS X 0201 characters, and which ones depends on the field
(domain/zengin.md §6.1):

- BANK_NAME (銀行名, 支店名): ｱ–ﾝ without ｦ, ﾞ ﾟ, A–Z, 0–9, space (padding and word gaps) and `-`.
- PARTY_NAME (委託者名, 受取人名, 口座名, 振込依頼人名): the same plus `(` `)` `.`.
- EDI (EDI情報, 摘要): the same plus ｦ, `\\` (the yen sign), ｢ ｣ and `/`.
Never allowed anywhere: small kana ｧ–ｯ, the long vowel ｰ, lower case, and every multi-byte character.

`to_zengin_kana` follows the §6.2 recipe with jaconv (imported lazily: the reader agent imports
`contracts` and does not install jaconv). The checks here need no third-party code.
The legal-entity abbreviations (法人略語, §6.3) and the bracket positions are written by hand: they are a
short bank-published table that no library carries.

This module must never truncate a name: a name that does not fit its field is an error (cutting ｶﾞ to ｶ
makes a different name), and never derives kana from kanji (readings are ambiguous; merchants register
their account-holder kana).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

_DIGITS = frozenset("0123456789")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# ｱ (0xB1) … ﾝ (0xDD) and the voicing marks ﾞ (0xDE) ﾟ (0xDF): U+FF71 … U+FF9F.
_KANA = frozenset(chr(c) for c in range(0xFF71, 0xFFA0))
_SMALL_KANA = frozenset("ｧｨｩｪｫｬｭｮｯ")
_WO = "ｦ"
_LONG_VOWEL = "ｰ"
_VOICING_MARKS = frozenset("ﾞﾟ")
_BASE_KANA = _KANA - _VOICING_MARKS


class FieldClass(StrEnum):
    """Which character class a Zengin text field allows (zengin.md §6.1)."""

    BANK_NAME = "bank_name"
    PARTY_NAME = "party_name"
    EDI = "edi"


_ALLOWED: dict[FieldClass, frozenset[str]] = {
    FieldClass.BANK_NAME: _DIGITS | _UPPER | _KANA | frozenset(" -"),
    FieldClass.PARTY_NAME: _DIGITS | _UPPER | _KANA | frozenset(" ()-."),
    FieldClass.EDI: _DIGITS | _UPPER | _KANA | frozenset(" ()-./\\｢｣" + _WO),
}

# Applied before jaconv's full-width -> half-width step: characters with no half-width form of their own.
_PRE_MAP = str.maketrans({
    "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ", "ヰ": "イ", "ヱ": "エ",
    "ヷ": "ワ゛", "ヸ": "イ゛", "ヹ": "エ゛", "ヺ": "ヲ゛",
    "￥": "\\", "¥": "\\",
    "ー": "-", "－": "-", "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "〜": "-", "～": "-",
})
# Applied after it: small kana to full size, the long vowel to `-`.
_POST_MAP = str.maketrans({
    "ｧ": "ｱ", "ｨ": "ｲ", "ｩ": "ｳ", "ｪ": "ｴ", "ｫ": "ｵ", "ｬ": "ﾔ", "ｭ": "ﾕ", "ｮ": "ﾖ", "ｯ": "ﾂ",
    _LONG_VOWEL: "-", "゛": "ﾞ", "゜": "ﾟ",
})


def to_zengin_kana(text: str, *, middle_dot: Literal[".", " "] = ".") -> str:
    """Half-width Zengin kana for `text` (kana, ASCII, digits): the §6.2 recipe, without the final check.

    Hiragana to katakana, full-width to half-width, small kana enlarged, long vowel to `-`, upper case, the
    middle dot `・` to `.` (or a space: 京葉銀行 asks for one). Kanji and other characters pass through
    unchanged, so always follow with `zengin_char_problems` for the target field.
    """
    import jaconv  # lazy: the reader agent installs without jaconv

    katakana = jaconv.hira2kata(text).translate(_PRE_MAP)
    half = jaconv.z2h(katakana, kana=True, ascii=True, digit=True)
    half = half.translate(_POST_MAP).replace("･", middle_dot).replace("・", middle_dot)
    return half.upper()


def _describe(char: str) -> str:
    if char in _SMALL_KANA:
        return "a small kana"
    if char == _LONG_VOWEL:
        return "the long vowel mark (write '-')"
    if char == _WO:
        return "ｦ, allowed only in EDI"
    if char.islower():
        return "lower case"
    try:
        encoded = char.encode("cp932")
    except UnicodeEncodeError:
        return "not encodable in CP932"
    if len(encoded) != 1:
        return "a double-byte character"
    return "not allowed in this field"


def zengin_char_problems(text: str, field_class: FieldClass) -> list[str]:
    """Every character of `text` that `field_class` does not allow, as sentences; empty means it is fine.

    Also flags a voicing mark ﾞ/ﾟ that does not follow a kana (it would be read as a name of its own).
    """
    allowed = _ALLOWED[FieldClass(field_class)]
    problems: list[str] = []
    for position, char in enumerate(text, start=1):
        if char not in allowed:
            problems.append(
                f"character {char!r} (U+{ord(char):04X}) at position {position} is {_describe(char)}")
        elif char in _VOICING_MARKS and (position == 1 or text[position - 2] not in _BASE_KANA):
            problems.append(f"voicing mark {char!r} at position {position} does not follow a kana")
    return problems


def is_valid_zengin_text(text: str, field_class: FieldClass) -> bool:
    """True when every character of `text` is allowed in a field of `field_class`."""
    return not zengin_char_problems(text, field_class)


def byte_length(text: str) -> int:
    """Length in CP932 bytes, as Zengin counts it (ﾞ and ﾟ are bytes of their own); raises ValueError
    (UnicodeEncodeError) for text CP932 cannot carry."""
    return len(text.encode("cp932"))


def fit_field(text: str, length: int) -> str:
    """`text` left-aligned and space-filled to `length` bytes; raises ValueError when it is longer.

    Never truncates: a name too long for its field goes to manual review, because cutting can separate a
    kana from its ﾞ/ﾟ and turn it into another name.
    """
    size = byte_length(text)
    if size > length:
        raise ValueError(f"{size} bytes do not fit a {length}-byte field; not truncated")
    return text + " " * (length - size)


# 法人略語 (zengin.md §6.3), written half-width as they appear in files.
CORPORATE_ABBREVIATIONS: dict[str, str] = {
    "株式会社": "ｶ",
    "有限会社": "ﾕ",
    "合同会社": "ﾄﾞ",
    "合名会社": "ﾒ",
    "合資会社": "ｼ",
    "医療法人": "ｲ",
    "財団法人": "ｻﾞｲ",
    "社団法人": "ｼﾔ",
    "宗教法人": "ｼﾕｳ",
    "学校法人": "ｶﾞｸ",
    "社会福祉法人": "ﾌｸ",
    "特定非営利活動法人": "ﾄｸﾋ",
    "独立行政法人": "ﾄﾞｸ",
    "営業所": "ｴｲ",
    "出張所": "ｼﾕﾂ",
}


def corporate_abbreviation(entity_form: str) -> str:
    """The half-width 法人略語 of an entity form (株式会社 -> ｶ, 社団法人 -> ｼﾔ); ValueError when unknown."""
    try:
        return CORPORATE_ABBREVIATIONS[entity_form.strip()]
    except KeyError:
        raise ValueError(f"no Zengin abbreviation for entity form {entity_form!r}") from None


def with_corporate_form(name_kana: str, entity_form: str, position: Literal["start", "end", "middle"],
                        *, rest_kana: str = "") -> str:
    """A company name with its abbreviated form in brackets: start `ｶ)ﾔﾏﾀﾞ`, end `ﾔﾏﾀﾞ(ｶ`, middle
    `ﾔﾏﾀﾞ(ｶ)ﾁﾊﾞｼﾃﾝ` (the middle form needs `rest_kana`, the part after the bracket).

    Names are converted with `to_zengin_kana` and must then be valid PARTY_NAME text; raises ValueError
    otherwise. Length is not checked here: use `fit_field` for the target field.
    """
    abbreviation = corporate_abbreviation(entity_form)
    name = to_zengin_kana(name_kana).strip()
    rest = to_zengin_kana(rest_kana).strip()
    if not name:
        raise ValueError("a company name is needed")
    if position == "start":
        result = f"{abbreviation}){name}"
    elif position == "end":
        result = f"{name}({abbreviation}"
    elif position == "middle":
        if not rest:
            raise ValueError("the middle form needs rest_kana (the part after the abbreviation)")
        result = f"{name}({abbreviation}){rest}"
    else:
        raise ValueError(f"position is start, end or middle, not {position!r}")
    if position != "middle" and rest:
        raise ValueError("rest_kana is only used with position='middle'")
    problems = zengin_char_problems(result, FieldClass.PARTY_NAME)
    if problems:
        raise ValueError("; ".join(problems))
    return result
