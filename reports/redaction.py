"""What a report must never show, taken out of the text it shows: card certificate serials (and the
certificates themselves) and My Numbers.

A quarantined record keeps its delivered text in the warehouse for the auditor; an officer's CSV shows that
text with these values masked, by field wherever the record can be read:
- a JSON record (a terminal-log line): each certificate field, at any depth, masked and the record re-serialised;
- a certificate-event CSV row (platform `mykey_certs`): every identifier-like field masked (the file's column
  order is not known from one row, and a serial cannot be told from a MyKey ID by its shape), event and time kept;
- a record that cannot be read as either, from the terminal folder or looking like JSON: withheld whole, since
  a serial in it could not be found reliably.
The values masked in a record are then masked in that row's detail too, as is any hex run a detail names as a
certificate or serial.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from typing import Any

from contracts.codes import mask_my_numbers
from contracts.schemas import PLATFORM_MYKEY_CERTS

# Field names of the contracts that hold a card certificate or its serial (terminal log: card_cert_serial;
# platform mykey_certs: cert_serial, previous_serial, cert_der). tests/reports checks each against contracts.
CERTIFICATE_FIELDS = frozenset({"card_cert_serial", "cert_serial", "previous_serial", "cert_der"})
SERIAL_MASK = "[certificate masked]"
WITHHELD_TEXT = "[record not shown: it could not be read field by field and may hold a card certificate serial]"
TERMINAL_SOURCE = "terminal"  # the inbox folder of terminal logs (FORMATS.md terminal/)

_IDENTIFIER_LIKE = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_NAMED_SERIAL = re.compile(r"(?i)(certificate|serial)(\s*[:=]?\s*)([0-9a-f]+)\b")
_EVENT_VALUES = frozenset(next(c.values for c in PLATFORM_MYKEY_CERTS.columns if c.name == "event") or ())


@dataclass(frozen=True, slots=True)
class Redacted:
    """A record's text as a report may show it, and the values taken out of it (to mask in its detail too)."""

    text: str | None
    masked_values: frozenset[str]


def _mask_json(value: Any, found: set[str]) -> Any:
    if isinstance(value, dict):
        masked = {}
        for key, inner in value.items():
            if key in CERTIFICATE_FIELDS and inner is not None:
                found.add(str(inner))
                masked[key] = SERIAL_MASK
            else:
                masked[key] = _mask_json(inner, found)
        return masked
    if isinstance(value, list):
        return [_mask_json(inner, found) for inner in value]
    return value


def _json_record(text: str) -> Redacted | None:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict | list):
        return None
    found: set[str] = set()
    masked = _mask_json(parsed, found)
    if not found:
        return Redacted(text, frozenset())
    return Redacted(json.dumps(masked, ensure_ascii=False, separators=(",", ":")), frozenset(found))


def _certificate_row(text: str) -> Redacted:
    rows = list(csv.reader(text.splitlines(keepends=True) or [""]))
    if len(rows) != 1:
        return Redacted(WITHHELD_TEXT, frozenset())
    found = {f for f in rows[0] if f not in _EVENT_VALUES and _IDENTIFIER_LIKE.fullmatch(f)}
    shown = [SERIAL_MASK if f in found else f for f in rows[0]]
    return Redacted(",".join(shown), frozenset(found))


def redact_record_text(text: str | None, source: str | None, kind: str | None) -> Redacted:
    """A quarantined record's text without certificates, serials or My Numbers (see the module docstring)."""
    if text is None:
        return Redacted(None, frozenset())
    if kind == PLATFORM_MYKEY_CERTS.name:
        redacted = _certificate_row(text)
    else:
        redacted = _json_record(text)
        if redacted is None:
            opaque = source == TERMINAL_SOURCE or text.lstrip()[:1] in ("{", "[")
            redacted = Redacted(WITHHELD_TEXT if opaque else text, frozenset())
    return Redacted(mask_my_numbers(redacted.text), redacted.masked_values)


def redact_detail(detail: str | None, masked_values: frozenset[str] = frozenset()) -> str | None:
    """A detail sentence without the values taken out of its record, certificate serials it names, or My
    Numbers."""
    if detail is None:
        return None
    for value in sorted(masked_values, key=len, reverse=True):
        detail = re.sub(rf"(?<![A-Za-z0-9+/]){re.escape(value)}(?![A-Za-z0-9+/=])", SERIAL_MASK, detail)
    detail = _NAMED_SERIAL.sub(lambda m: m.group(1) + m.group(2) + SERIAL_MASK, detail)
    return mask_my_numbers(detail)
