"""What every `seisan` command module shares: the YYYY-MM-DD argument type and the progress line printer.
(seisan/cli.py imports the command modules, so they cannot import these from it.)"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seisan.config import Settings


def date_arg(text: str) -> dt.date:
    """An argparse type: a business date in YYYY-MM-DD form, or one sentence saying what is wrong."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from exc


def say(message: str) -> None:
    """Progress for people: one line, flushed at once."""
    print(message, flush=True)


def holding_home(settings: Settings, command: str, shared: bool = False):
    """The home's lock for one command; waiting for another command is said once on the terminal."""
    from seisan.home_lock import hold_home

    return hold_home(settings.home, command, shared=shared, wait_seconds=settings.lock_wait_seconds, say=say)
