"""Run the real agent in a child process that dies (os._exit, no cleanup) at a chosen point, like a power cut.

Usage: python crash_runner.py <point> <agent argv...>; the PIN is read from stdin like a PIN pad.
Points: after_sign (signed, nothing written), after_pending (write-ahead entry written, platform not asked),
after_commit (platform committed, log line not written), torn_line (half the log line written).
"""

from __future__ import annotations

import os
import sys

from contracts import terminal_log
from reader_agent import flow, store
from reader_agent.cli import main

POWER_CUT = 137


def _install(point: str) -> None:
    if point == "after_sign":
        def write_pending(self, record):
            os._exit(POWER_CUT)
        store.TerminalStore.write_pending = write_pending
    elif point == "after_pending":
        original = flow.PlatformClient.commit

        def commit(self, auth_id, record):
            os._exit(POWER_CUT)
        flow.PlatformClient.commit = commit
        assert original
    elif point == "after_commit":
        def append_pending(self):
            os._exit(POWER_CUT)
        store.TerminalStore.append_pending = append_pending
    elif point == "torn_line":
        def append_pending(self):
            line = terminal_log.dump_line(self.pending())
            with open(self.current_path, "ab") as handle:
                handle.write(line[: len(line) // 2])
                handle.flush()
                os.fsync(handle.fileno())
            os._exit(POWER_CUT)
        store.TerminalStore.append_pending = append_pending
    else:
        raise SystemExit(f"unknown point {point}")


if __name__ == "__main__":
    _install(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
