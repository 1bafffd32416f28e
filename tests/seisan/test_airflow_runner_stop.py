"""seisan.airflow_runner.bounded_end: Airflow's LocalExecutor.end() joins each worker without a timeout; wrapped,
a worker that never stops is killed after the grace time (SIGKILL: a forked worker inherits its parent's
SIGTERM handler, as this test's worker does under pytest-xdist) and end() returns (seen once in CI: every task and
the DAG run had succeeded, and the run never returned)."""

from __future__ import annotations

import multiprocessing
import signal
import time

from seisan.airflow_runner import bounded_end


class _Executor:
    """What end() needs of an executor: its worker processes by pid."""

    def __init__(self, processes: list[multiprocessing.Process]) -> None:
        self.workers = {process.pid: process for process in processes}


def _ignore_sigterm_and_sleep() -> None:  # a worker with a SIGTERM handler, as Airflow's may have
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(3600)


def _join_all(executor: _Executor) -> None:  # Airflow's end(): join every live worker, no timeout
    for process in executor.workers.values():
        process.join()


def test_a_worker_that_never_stops_is_killed_and_end_returns() -> None:
    stuck = multiprocessing.Process(target=_ignore_sigterm_and_sleep)
    done = multiprocessing.Process(target=time.sleep, args=(0,))
    stuck.start()
    done.start()
    done.join()
    bounded_end(_join_all, grace_seconds=0.5)(_Executor([stuck, done]))
    assert stuck.exitcode == -signal.SIGKILL and done.exitcode == 0


def test_workers_that_stop_are_left_alone() -> None:
    quick = multiprocessing.Process(target=time.sleep, args=(0.2,))
    quick.start()
    bounded_end(_join_all, grace_seconds=30)(_Executor([quick]))
    assert quick.exitcode == 0
