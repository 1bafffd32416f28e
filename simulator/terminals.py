"""Terminal logs of the simulated shops: signed, hash-chained JSON Lines uploads (FORMATS.md, terminal/).

Each terminal's uses and cancels are cut into one to three uploads a day. `seq` continues across files for
ever, the first record of a file links to the previous file's seal, each file ends with a seal signed by the
terminal key in force on that day, and each use/cancel carries the resident's card signature over its card
message (signed in the process pool of simulator/signing.py). Canonical form, hashing and sealing come from
contracts.terminal_log, so the simulator and the reader agent write the same bytes.

This module never decides what happened; it writes down the records it is given.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from contracts import terminal_log as tl
from contracts.inbox_names import TERMINAL_NAME
from simulator.keys import ed25519_key
from simulator.point_platform import JST, TerminalRecord, iso
from simulator.signing import Signer
from simulator.world import World, rng_for

RECORDS_AT_ONCE = 16_384  # terminal records signed per round while their uploads are made


@dataclass(slots=True)
class TerminalFile:
    """One upload: inbox-relative path, its lines as written (records then seal, JSON Lines) and the records it
    carries. The lines are held as bytes, not dicts (about 1,050 bytes a terminal record instead of 1,470, and a
    national world's four days hold some four million records until they are written); `lines` parses them
    again for the few faults that read them."""

    path: str
    terminal_id: str
    day: dt.date
    upload: int
    encoded: bytes
    records: list[TerminalRecord] = field(default_factory=list)

    @classmethod
    def of(cls, path: str, terminal_id: str, day: dt.date, upload: int, lines: Sequence[dict[str, Any]],
           records: list[TerminalRecord] | None = None) -> TerminalFile:
        return cls(path, terminal_id, day, upload, b"".join(tl.dump_line(line) for line in lines),
                   records if records is not None else [])

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.encoded.splitlines()]

    @property
    def line_count(self) -> int:
        return self.encoded.count(b"\n")

    @property
    def first_seq(self) -> int:
        return json.loads(self.encoded.split(b"\n", 1)[0])["seq"]

    @property
    def seal(self) -> dict[str, Any]:
        return json.loads(self.encoded.splitlines()[-1])

    def data(self) -> bytes:
        return self.encoded


def upload_path(terminal_id: str, day: dt.date, upload: int) -> str:
    return TERMINAL_NAME.inbox_path(day, terminal=terminal_id, upload=upload)


@lru_cache(maxsize=4096)
def terminal_key(label: str):
    return ed25519_key(label)


def record_body(record: TerminalRecord) -> dict[str, Any]:
    """The fields of a use/cancel before card_sig, prev_hash and hash."""
    return tl.record_body(record.type, record.terminal_id, record.seq, iso(record.ts), record.merchant_id,
                          record.municipality_code, record.mykey_id, record.amount, record.auth_id,
                          record.card_cert_serial, record.cancel_of if record.type == "cancel" else None)


def signing_message(body: dict[str, Any], forged: bool) -> bytes:
    """The card message to sign; a forged record signs a different amount so its signature fails."""
    if forged:
        body = {**body, "amount": body["amount"] + 1}
    return tl.card_message(body)


def chain(terminal_id: str, bodies: Sequence[dict[str, Any]], prev_hash: str, seal_seq: int,
          seal_ts: dt.datetime, key_label: str) -> list[dict[str, Any]]:
    """Link `bodies` (card_sig already set) after `prev_hash` and end them with a sealed seal."""
    lines = []
    for body in bodies:
        record = {**body, "prev_hash": prev_hash}
        tl.finish_record(record)
        prev_hash = record["hash"]
        lines.append(record)
    lines.append(tl.make_seal(terminal_id, seal_seq, iso(seal_ts), len(bodies), prev_hash,
                              terminal_key(key_label)))
    return lines


def seal_time(day: dt.date, last: dt.datetime | None) -> dt.datetime:
    latest = dt.datetime.combine(day, dt.time(23, 59, 0), JST)
    if last is None:
        return latest
    return min(last + dt.timedelta(seconds=30), latest)


def _split(rng: random.Random, records: list[TerminalRecord]) -> list[list[TerminalRecord]]:
    if len(records) < 4:
        return [records]
    parts = rng.choice((1, 1, 2, 3))
    cuts = sorted(rng.sample(range(1, len(records)), parts - 1))
    bounds = [0, *cuts, len(records)]
    return [records[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def plan_uploads(world: World, records: Sequence[TerminalRecord]) -> list[tuple[str, dt.date, int,
                                                                               list[TerminalRecord]]]:
    """(terminal, day, upload number, records) for every upload, with `seq` assigned to every record."""
    rng = rng_for(world.seed, "uploads")
    by_terminal: dict[str, dict[dt.date, list[TerminalRecord]]] = {}
    for record in sorted((r for r in records if not r.dropped), key=lambda r: (r.terminal_id, r.ts, r.auth_id)):
        by_terminal.setdefault(record.terminal_id, {}).setdefault(record.ts.astimezone(JST).date(), []).append(record)
    plans = []
    for terminal_id in sorted(by_terminal):
        seq = 0
        for day in sorted(by_terminal[terminal_id]):
            for number, part in enumerate(_split(rng, by_terminal[terminal_id][day]), start=1):
                for record in part:
                    seq += 1
                    record.seq = seq
                seq += 1  # the seal
                plans.append((terminal_id, day, number, part))
    return plans


def build_terminal_files(world: World, records: Sequence[TerminalRecord], signer: Signer) -> list[TerminalFile]:
    """Every upload of every terminal, signed and chained. The card signatures are made a round of uploads at a
    time (RECORDS_AT_ONCE records or more), each round's lines encoded before the next is signed, so only one
    round's records are held as dicts."""
    plans = plan_uploads(world, records)
    files: list[TerminalFile] = []
    last_hash: dict[str, str] = {}
    start = 0
    while start < len(plans):
        end, count = start, 0
        while end < len(plans) and (count < RECORDS_AT_ONCE or end == start):
            count += len(plans[end][3])
            end += 1
        files += _signed_round(world, plans[start:end], signer, last_hash)
        start = end
    return files


def _signed_round(world: World, plans: Sequence[tuple[str, dt.date, int, list[TerminalRecord]]], signer: Signer,
                  last_hash: dict[str, str]) -> list[TerminalFile]:
    """These uploads (in plan order), each chained after `last_hash` of its terminal, which it updates."""
    bodies = {id(r): record_body(r) for _, _, _, part in plans for r in part}
    ordered = [r for _, _, _, part in plans for r in part]
    signatures = signer.sign([(r.key_index, signing_message(bodies[id(r)], r.forged)) for r in ordered])
    for record, signature in zip(ordered, signatures, strict=True):
        bodies[id(record)]["card_sig"] = signature
    files = []
    for terminal_id, day, number, part in plans:
        key = world.terminal_key_on(terminal_id, day)
        assert key is not None, f"{terminal_id} has no key in force on {day}"
        seal_seq = part[-1].seq + 1 if part else 1
        lines = chain(terminal_id, [bodies[id(r)] for r in part], last_hash.get(terminal_id, tl.GENESIS_HASH),
                      seal_seq, seal_time(day, part[-1].ts if part else None), key.key_label)
        last_hash[terminal_id] = lines[-1]["hash"]
        files.append(TerminalFile.of(upload_path(terminal_id, day, number), terminal_id, day, number, lines,
                                     list(part)))
    return files
