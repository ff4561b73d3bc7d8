"""User workloads for the benchmarks, run by gilviz as ``benchmarks/workloads.py:NAME``.

Each function takes the task's size (milliseconds to run here) and stops early when the run
is stopped. They are plain user code as gilviz sees it: gilviz imports this file in the
runner by path.

``convoy`` and ``locked`` write "TID ROLE" lines to the file named by $GILVIZ_BENCH_ROLES
(when set), so a benchmark can tell which worker thread played which part.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

try:  # inside gilviz's runner: honour a stop request
    from gilviz.core.running.workloads import cancelled
except ImportError:  # pragma: no cover - run bare

    def cancelled() -> bool:
        return False


_LOCK = threading.Lock()
_ROLE_COUNTER = itertools.count()


def _note_role(role: str) -> None:
    path = os.environ.get("GILVIZ_BENCH_ROLES")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{threading.get_native_id()} {role}\n".encode())
    finally:
        os.close(fd)


def _spin(us: float) -> int:
    """Pure-Python work (holds the GIL) for about ``us`` microseconds."""
    end = time.perf_counter() + us / 1e6
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def _crunch_until(deadline: float) -> int:
    total = 0
    while time.monotonic() < deadline and not cancelled():
        total += sum(i * i for i in range(20_000))
    return total


def locked(ms: int) -> int:
    """Threads taking turns on one user ``threading.Lock``: 2 ms of Python work while
    holding it, 0.2 ms outside. With 3 threads each waits on the lock most of the time; the
    GIL is contended only for the short stretch outside the lock."""
    _note_role("locked")
    deadline = time.monotonic() + ms / 1000
    rounds = 0
    while time.monotonic() < deadline and not cancelled():
        with _LOCK:
            _spin(2000)
        _spin(200)
        rounds += 1
    return rounds


def convoy(ms: int) -> int:
    """The convoy effect: the first two tasks crunch (pure Python) for ``ms``; every later
    task is a thread that sleeps 1 ms at a time for as long. Run with 3 workers, 3 tasks."""
    deadline = time.monotonic() + ms / 1000
    if next(_ROLE_COUNTER) < 2:
        _note_role("crunch")
        return _crunch_until(deadline)
    _note_role("sleeper")
    wakeups = 0
    while time.monotonic() < deadline and not cancelled():
        time.sleep(0.001)
        wakeups += 1
    return wakeups
