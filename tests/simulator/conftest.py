"""Small simulated worlds shared by the simulator tests (built once per test session)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from simulator import simulate

SMALL = {"start": dt.date(2026, 3, 28), "days": 6, "municipalities": 2, "residents": 90, "seed": 7}


@pytest.fixture(scope="session")
def none_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("none-world")
    simulate(out, faults="none", workers=1, **SMALL)
    return out


@pytest.fixture(scope="session")
def typical_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("typical-world")
    simulate(out, faults="typical", workers=1, **SMALL)
    return out


@pytest.fixture
def rounds_of(monkeypatch: pytest.MonkeyPatch):
    """`rounds_of(signer, "sign")`: from then on, the number of jobs of each call of that signer's method, in a
    list (the method still does its work)."""

    def watch(signer: object, method: str) -> list[int]:
        sizes: list[int] = []
        real = getattr(signer, method)

        def counted(jobs):
            sizes.append(len(jobs))
            return real(jobs)

        monkeypatch.setattr(signer, method, counted)
        return sizes

    return watch
