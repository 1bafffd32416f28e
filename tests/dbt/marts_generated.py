"""Deterministic generated ledgers (seeded random) for the incremental test and the benchmark."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from marts_worlds import PROGRAMS, Ledger

MERCHANTS = ("M00000001", "M00000002", "M00000003")


def generate(ledger: Ledger, seed: int, start: date, days: int, municipalities: tuple[str, ...],
             residents: int) -> None:
    """Every resident gets grants/charges and spends them: about one event per resident every 3 days."""
    rng = random.Random(seed)
    for index in range(residents):
        municipality = municipalities[index % len(municipalities)]
        mykey = f"GEN{seed:02d}{index:06d}"
        programs = sorted(c for c, spec in PROGRAMS.items() if spec[0] == municipality)
        uses: list[list] = []
        for offset in range(days):
            if rng.random() > 0.33:
                continue
            ts = datetime.combine(start + timedelta(days=offset), time(rng.randrange(0, 24), rng.randrange(60)))
            roll = rng.random()
            if roll < 0.35:
                ledger.grant(ts, municipality, mykey, rng.choice(programs), rng.randrange(100, 3000))
            elif roll < 0.45:
                ledger.charge(ts, municipality, mykey, rng.choice(programs), rng.randrange(1000, 5000))
            elif roll < 0.9 or not uses:
                amount = rng.randrange(50, 1500)
                uses.append([ledger.use(ts, municipality, mykey, amount, rng.choice(MERCHANTS)), amount])
            else:
                use = rng.choice(uses)
                if use[1] > 0:
                    back = rng.randrange(1, use[1] + 1)
                    use[1] -= back
                    ledger.cancel(ts, municipality, mykey, use[0], back)
