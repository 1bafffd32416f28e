"""The simulator's terminal uploads are signed a round at a time and held as their bytes: the uploads are the
same whatever the round, each verifies (chain and seal) and links to the terminal's upload before it across
rounds, card signatures verify under the card's key, and the lines parse back to exactly those bytes."""

from __future__ import annotations

import base64
import datetime as dt

from contracts import terminal_log as tl
from simulator import terminals
from simulator.point_platform import run_platform
from simulator.signing import Signer
from simulator.terminals import TerminalFile, build_terminal_files, terminal_key
from simulator.world import build_world

START = dt.date(2026, 10, 1)


def test_uploads_signed_in_rounds_are_the_uploads_signed_at_once_and_each_verifies(monkeypatch, rounds_of) -> None:
    world = build_world(7, START, 3, 2, 1200, activity=0.4, mix="national")
    out, _ = run_platform(world, {})
    records = out.terminal_records
    signer = Signer(seed=7, pool_size=world.card_key_pool, workers=1)
    try:
        rounds = rounds_of(signer, "sign")
        at_once = build_terminal_files(world, records, signer)
        assert len(rounds) == 1
        rounds.clear()
        monkeypatch.setattr(terminals, "RECORDS_AT_ONCE", 5)
        in_rounds = build_terminal_files(world, records, signer)
    finally:
        signer.close()
    assert len(rounds) > 10 and all(n >= 5 for n in rounds[:-1]) and sum(rounds) == len(records)
    assert [(f.path, f.data(), [id(r) for r in f.records]) for f in in_rounds] == \
        [(f.path, f.data(), [id(r) for r in f.records]) for f in at_once]

    last_seal: dict[str, str] = {}
    for f in in_rounds:
        key = world.terminal_key_on(f.terminal_id, f.day)
        lines = f.lines
        assert tl.verify_chain(lines, terminal_key(key.key_label).public_key()) == [], f.path
        assert lines[0]["prev_hash"] == last_seal.get(f.terminal_id, tl.GENESIS_HASH), f.path
        last_seal[f.terminal_id] = lines[-1]["hash"]
        for line, record in zip(lines, f.records, strict=False):
            card = signer.cards[record.key_index].public_key()
            assert tl.verify_card_signature(card, line) != record.forged
            assert base64.b64decode(line["card_sig"])


def test_an_uploads_lines_are_its_bytes_parsed() -> None:
    world = build_world(7, START, 2, 1, 400)
    out, _ = run_platform(world, {})
    signer = Signer(seed=7, pool_size=world.card_key_pool, workers=1)
    try:
        files = build_terminal_files(world, out.terminal_records, signer)
    finally:
        signer.close()
    assert files
    for f in files:
        lines = f.lines
        assert b"".join(tl.dump_line(line) for line in lines) == f.data()
        assert TerminalFile.of(f.path, f.terminal_id, f.day, f.upload, lines).encoded == f.encoded
        assert f.first_seq == lines[0]["seq"] and f.seal == lines[-1] and f.line_count == len(lines)
        assert lines[-1]["type"] == "seal" and lines[-1]["records"] == len(f.records) == len(lines) - 1
