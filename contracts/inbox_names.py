"""Inbox file names (FORMATS.md "Inbox layout"): every kind's name pattern and its formatter, owned once.

The simulator and the reader agent write names with `inbox_path`/`file_name`; ingestion tells a file's kind,
business date and parts from its inbox-relative path with `match_path`. `D` in a name is YYYYMMDD.

    master/     <name>_D.csv                              (the eight masters)
    platform/   ledger_D.csv  balances_D.csv  mykey_certs_D.csv
    terminal/   <terminal_id>/<terminal_id>_D_<nnnn>.jsonl (nnnn: that day's upload number, from 0001)
    partner/    <partner_code>/<partner_code>_{conversion,sales,settlement}_D.csv
    bank/       <bank_code>/<bank_code>_<branch_code>_<account_number>_D.txt

Written by hand: the layout is FORMATS.md's own. Identifier patterns come from contracts.schemas.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from contracts.limits import BUSINESS_DATE_MAX, BUSINESS_DATE_MIN
from contracts.schemas import (
    ACCOUNT_NUMBER,
    BANK_CODE,
    BRANCH_CODE,
    MASTER_KINDS,
    PARTNER_CODE,
    PARTNER_CONVERSION,
    PARTNER_SALES,
    PARTNER_SETTLEMENT,
    PLATFORM_BALANCES,
    PLATFORM_LEDGER,
    PLATFORM_MYKEY_CERTS,
    TERMINAL_ID,
)

DATE_STAMP = "%Y%m%d"
SOURCES = ("master", "platform", "terminal", "partner", "bank")
TERMINAL_KIND = "terminal_log"
BANK_KIND = "bank_statement"
UPLOAD_NUMBER_MAX = 9999  # four digits, from 0001
_D = r"(?P<date>[0-9]{8})"


@dataclass(frozen=True, slots=True)
class InboxName:
    """The name of one kind of delivered file.

    kind: a CSV kind name (contracts.schemas), `terminal_log` or `bank_statement`; source: inbox folder;
    pattern: full match on the bare file name, group `date` plus the kind's parts; folder_part: the part
    that names the sub-folder the file lives in (partner, terminal, bank), None when it sits in `source`.
    """

    kind: str
    source: str
    pattern: re.Pattern[str]
    template: str
    folder_part: str | None = None

    def file_name(self, day: dt.date, **parts: str | int) -> str:
        """The bare file name for business date `day`; raises ValueError for parts of the wrong shape."""
        name = self.template.format(date=day.strftime(DATE_STAMP), **parts)
        if not self.pattern.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid {self.kind} file name")
        return name

    def inbox_path(self, day: dt.date, **parts: str | int) -> str:
        """The `/`-separated path relative to the inbox: source, sub-folder if any, file name."""
        name = self.file_name(day, **parts)
        folder = f"{parts[self.folder_part]}/" if self.folder_part else ""
        return f"{self.source}/{folder}{name}"


def _csv(kind_name: str, source: str, stem: str) -> InboxName:
    if source == "partner":
        pattern = rf"(?P<partner>{PARTNER_CODE})_{stem}_{_D}\.csv"
        return InboxName(kind_name, source, re.compile(pattern), f"{{partner}}_{stem}_{{date}}.csv", "partner")
    return InboxName(kind_name, source, re.compile(rf"{stem}_{_D}\.csv"), f"{stem}_{{date}}.csv")


_CSV_NAMES = (
    *(_csv(kind.name, "master", kind.name.removeprefix("master_")) for kind in MASTER_KINDS),
    _csv(PLATFORM_LEDGER.name, "platform", "ledger"),
    _csv(PLATFORM_BALANCES.name, "platform", "balances"),
    _csv(PLATFORM_MYKEY_CERTS.name, "platform", "mykey_certs"),
    _csv(PARTNER_CONVERSION.name, "partner", "conversion"),
    _csv(PARTNER_SALES.name, "partner", "sales"),
    _csv(PARTNER_SETTLEMENT.name, "partner", "settlement"),
)
TERMINAL_NAME = InboxName(
    TERMINAL_KIND,
    "terminal",
    re.compile(rf"(?P<terminal>{TERMINAL_ID})_{_D}_(?P<upload>[0-9]{{4}})\.jsonl"),
    "{terminal}_{date}_{upload:04d}.jsonl",
    "terminal",
)
BANK_NAME = InboxName(
    BANK_KIND,
    "bank",
    re.compile(rf"(?P<bank>{BANK_CODE})_(?P<branch>{BRANCH_CODE})_(?P<account>{ACCOUNT_NUMBER})_{_D}\.txt"),
    "{bank}_{branch}_{account}_{date}.txt",
    "bank",
)
NAMES: tuple[InboxName, ...] = (*_CSV_NAMES, TERMINAL_NAME, BANK_NAME)
NAMES_BY_KIND = {name.kind: name for name in NAMES}


def inbox_path(kind: str, day: dt.date, **parts: str | int) -> str:
    """The inbox-relative path of a `kind` file for `day`, e.g. inbox_path("partner_sales", d, partner="MALL1")."""
    return NAMES_BY_KIND[kind].inbox_path(day, **parts)


@dataclass(frozen=True, slots=True)
class NameMatch:
    """What a file's inbox-relative path says: its kind, business date and other name parts."""

    kind: str
    business_date: dt.date
    parts: dict[str, str]


def _date(text: str) -> dt.date | None:
    """The date of a name's eight digits (DATE_STAMP, YYYYMMDD), None when it is not on the calendar; read by
    slicing, as strptime costs about 40 µs a name and every scan reads the name of every file in the inbox."""
    try:
        day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return day if BUSINESS_DATE_MIN <= day <= BUSINESS_DATE_MAX else None


def match_path(rel_parts: tuple[str, ...]) -> NameMatch | None:
    """The kind of a file from its path parts relative to the inbox (`("partner", "MALL1", "MALL1_sales_...")`);
    None when it is no inbox file: wrong folder or depth, a name matching no pattern, or a date that is not on
    the calendar or outside contracts.limits' business-date range. An upload number 0000 is not one (uploads
    count from 0001)."""
    if not rel_parts or rel_parts[0] not in SOURCES:
        return None
    source, name = rel_parts[0], rel_parts[-1]
    for candidate in NAMES:
        if candidate.source != source:
            continue
        found = candidate.pattern.fullmatch(name)
        if found is None:
            continue
        depth = 3 if candidate.folder_part else 2
        if len(rel_parts) != depth or (candidate.folder_part and rel_parts[1] != found[candidate.folder_part]):
            return None
        day = _date(found["date"])
        if day is None or found.groupdict().get("upload") == "0000":
            return None
        return NameMatch(candidate.kind, day, {k: v for k, v in found.groupdict().items() if k != "date"})
    return None
