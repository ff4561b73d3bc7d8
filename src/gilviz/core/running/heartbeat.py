"""The heartbeat: a thread in each measured process that sleeps 1 ms and notes how late it
wakes. Its lateness is what any I/O thread in that process would suffer (the convoy effect
when CPU-bound threads hog the GIL), and it works on every OS.

Runs inside the runner or a process-pool worker; hands batches of lateness values (µs) to a
callback about ten times a second, and the rest when stopped. Stdlib only: it may run under
another interpreter.

It beats in bursts: BURST_S of 1 ms sleeps, then a rest until the next CYCLE_S. In a process
whose GIL is busy, every wake-up takes the GIL from the working thread (a forced hand-off,
often across cores), so beating all the time would slow the work it measures; bursts make a
quarter of the beats. Each measured beat is still a 1 ms sleep; the rest is one sleep that
is not measured. The first burst starts at once, so short runs are measured too.

A process pool's heartbeat (in one worker) beats half as long, PROCESS_BURST_S: there its
hand-offs all land on that worker's one task thread, and the pool's wall time is its
slowest worker's, so each beat costs the run in full. The measured costs of both choices
are in docs/measurement.md ("Cost" and "Latency"), with the commands behind them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

PERIOD_S = 0.001
FLUSH_S = 0.1
BURST_S = 0.25
PROCESS_BURST_S = 0.125
CYCLE_S = 1.0


class Heartbeat(threading.Thread):
    """Sleeps PERIOD_S in a loop; reports each wake-up's lateness in microseconds."""

    def __init__(self, send: Callable[[list[int]], None], burst_s: float = BURST_S) -> None:
        super().__init__(name="gilviz-heartbeat", daemon=True)
        self._send = send
        self._burst_s = burst_s
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._batch: list[int] = []

    def run(self) -> None:
        clock = time.perf_counter_ns
        period_ns = int(PERIOD_S * 1e9)
        while not self._stop_event.is_set():
            cycle_start = clock()
            burst_end = cycle_start + int(self._burst_s * 1e9)
            next_flush = cycle_start + int(FLUSH_S * 1e9)
            now = cycle_start
            while now < burst_end and not self._stop_event.is_set():
                due = clock() + period_ns
                time.sleep(PERIOD_S)
                now = clock()
                # Lateness includes re-acquiring the GIL after the sleep: that is the point.
                with self._lock:
                    self._batch.append(max(0, now - due) // 1000)
                if now >= next_flush:
                    self.flush()
                    next_flush = now + int(FLUSH_S * 1e9)
            self.flush()
            rest = CYCLE_S - (clock() - cycle_start) / 1e9
            if rest > 0:
                self._stop_event.wait(rest)

    def flush(self) -> None:
        with self._lock:
            batch, self._batch = self._batch, []
        if batch:
            self._send(batch)

    def stop(self) -> None:
        """Stop and send what is left, from the calling thread (works at process exit)."""
        self._stop_event.set()
        self.flush()
