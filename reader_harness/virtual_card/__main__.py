"""Run one virtual JPKI card as its own process: `python -m reader_harness.virtual_card --dir CARD_DIR [knobs]`.

CARD_DIR holds key.pem, cert.der and ca.der (see profiles.write_card_files); the retry counters persist in
CARD_DIR/tries.json. The process inserts the card into vpcd slot 0 and exits when the card is pulled (fault
knob) or on SIGTERM (= card removed). It prints nothing about APDUs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reader_harness.virtual_card.card import CardContent, CardFaults, JpkiCard, RetryCounters
from reader_harness.virtual_card.vpcd import VPCD_PORT_SLOT0, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reader_harness.virtual_card", description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="card files directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=VPCD_PORT_SLOT0)
    parser.add_argument("--pin", default="1234", help="the card's auth PIN (simulation secret)")
    parser.add_argument("--auth-tries", type=int, default=3, help="tries left when the counter is (re)set")
    parser.add_argument("--reset-tries", action="store_true", help="reset the persistent counter")
    parser.add_argument("--locked-sw", default="63C0", choices=("63C0", "6983", "6984"))
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--verify-delay-ms", type=int, default=0, help="extra delay for a VERIFY with a PIN")
    parser.add_argument("--pull-after-verify", action="store_true")
    parser.add_argument("--non-jpki", action="store_true")
    parser.add_argument("--token", default="JPKIAPICCTOKEN2")
    parser.add_argument("--mute", action="store_true", help="answer no ATR (the reader reports a MUTE card)")
    parser.add_argument("--events", type=Path, help="append power events and command headers (never bodies)")
    return parser


def build_card(args: argparse.Namespace) -> JpkiCard:
    directory: Path = args.dir
    auth_key = serialization.load_pem_private_key((directory / "key.pem").read_bytes(), password=None)
    content = CardContent(
        auth_key=auth_key, auth_cert_der=(directory / "cert.der").read_bytes(),
        ca_cert_der=(directory / "ca.der").read_bytes(), sign_key=rsa.generate_private_key(65537, 2048),
        auth_pin=args.pin.encode("ascii"),
    )
    counters = RetryCounters(directory / "tries.json", auth_tries=args.auth_tries, reset=args.reset_tries)
    faults = CardFaults(locked_sw=int(args.locked_sw, 16), delay_ms=args.delay_ms,
                        verify_delay_ms=args.verify_delay_ms,
                        pull_after_verify=args.pull_after_verify, non_jpki=args.non_jpki,
                        token=args.token.encode("ascii"), mute=args.mute)
    return JpkiCard(content, counters, faults)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    card = build_card(args)
    print("virtual card ready", flush=True)
    run(card, args.host, args.port, args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
