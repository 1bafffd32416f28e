"""Fixtures shared by every test folder. Folder-specific fixtures live in that folder's conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def seisan_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty SEISAN_HOME for one test, with no configuration file or inbox override leaking in."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEISAN_HOME", str(home))
    monkeypatch.delenv("SEISAN_INBOX", raising=False)
    monkeypatch.delenv("SEISAN_CONFIG", raising=False)
    monkeypatch.setenv("SEISAN_INGEST_SETTLE_SECONDS", "0")  # tests deliver complete files and ingest at once
    return home


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
