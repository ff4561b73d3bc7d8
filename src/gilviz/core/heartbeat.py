"""The heartbeat: a thread in each measured process that sleeps 1 ms and notes how late it
wakes. Its lateness is what any I/O thread in that process would suffer (the convoy effect
when CPU-bound threads hog the GIL), and it works on every OS.

Runs inside the runner or a process-pool worker; hands batches of lateness values (µs) to a
callback about ten times a second, and the rest when stopped. Stdlib only: it may run under
another interpreter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

PERIOD_S = 0.001
FLUSH_S = 0.1


class Heartbeat(threading.Thread):
    """Sleeps PERIOD_S in a loop; reports each wake-up's lateness in microseconds."""

    def __init__(self, send: Callable[[list[int]], None]) -> None:
        super().__init__(name="gilviz-heartbeat", daemon=True)
        self._send = send
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._batch: list[int] = []

    def run(self) -> None:
        clock = time.perf_counter_ns
        next_flush = clock() + int(FLUSH_S * 1e9)
        period_ns = int(PERIOD_S * 1e9)
        while not self._stop_event.is_set():
            due = clock() + period_ns
            time.sleep(PERIOD_S)
            now = clock()
            # Lateness includes re-acquiring the GIL after the sleep: that is the point.
            with self._lock:
                self._batch.append(max(0, now - due) // 1000)
            if now >= next_flush:
                self.flush()
                next_flush = now + int(FLUSH_S * 1e9)

    def flush(self) -> None:
        with self._lock:
            batch, self._batch = self._batch, []
        if batch:
            self._send(batch)

    def stop(self) -> None:
        """Stop and send what is left, from the calling thread (works at process exit)."""
        self._stop_event.set()
        self.flush()
