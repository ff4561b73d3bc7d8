"""What does the model's whole-run grid (tasks done and the state mix per time bucket) add to
folding samples and to taking a snapshot?

The same synthetic run (64 workers, 50 Hz, 30 s of samples, every worker busy) is folded by
``RunModel`` as it is and with the grid's state mix switched off (its bucket is never
closed), alternately, in one process; the cost is the thread's CPU time (``thread_time``,
so waiting for a core on a shared machine does not count), the best of ``--rounds``. A
snapshot is timed at the end of each run. Prints both costs and their ratio.

    .venv/bin/python benchmarks/fold_cost.py [--rounds 15] [--workers 64] [--seconds 30]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import fmt_load, loadavg  # noqa: E402
from gilviz.core.measuring.samples import ThreadSample  # noqa: E402
from gilviz.core.model import RunModel  # noqa: E402
from gilviz.core.protocol import decode  # noqa: E402
from gilviz.core.running.spec import build_spec  # noqa: E402

MS = 1_000_000
STATES = ("running", "gil_wait", "runnable", "io_wait")


def ticks(workers: int, seconds: float) -> list[tuple[int, list[ThreadSample]]]:
    rng = random.Random(18)
    out = []
    for i in range(int(seconds * 50)):
        t = (i + 1) * 20 * MS
        row = []
        for wid in range(workers):
            state = rng.choice(STATES)
            shares = {state: 1.0} if rng.random() < 0.8 else {"running": 0.5, "gil_wait": 0.5}
            row.append(ThreadSample(wid, t, 20 * MS, shares, state, 0, 0, "R", None))
        out.append((t, row))
    return out


def fold(data, workers: int, grid: bool) -> tuple[float, float]:
    """(ns of CPU per sample folded, ms of CPU for one snapshot)"""
    spec = build_spec("crunch", pool="thread", workers=workers, tasks=workers)
    m = RunModel(spec, "/proc sampling", [0, 1], started_ns=0)
    if not grid:  # the open bucket never closes: no state mix kept
        m._close_mix = lambda t_ns: setattr(m, "_mix_end", 1 << 62)
    for wid in range(workers):
        m.on_message(decode(["worker", wid, 100, 200 + wid]))
        m.on_message(decode(["s", wid, wid, 0]))
    t0 = time.thread_time()
    for t, row in data:
        m.on_tick(row, None, now=t)
    folded = time.thread_time() - t0
    t0 = time.thread_time()
    m.snapshot()
    snap = time.thread_time() - t0
    return folded / (len(data) * workers) * 1e9, snap * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    print(f"load at start: {fmt_load(loadavg())}")
    data = ticks(args.workers, args.seconds)
    got: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for r in range(args.rounds):
        for grid in (True, False) if r % 2 else (False, True):
            got[grid].append(fold(data, args.workers, grid))
    on = min(x[0] for x in got[True]), min(x[1] for x in got[True])
    off = min(x[0] for x in got[False]), min(x[1] for x in got[False])
    n = args.workers
    print(f"{n} workers, {args.seconds:g} s at 50 Hz, best of {args.rounds} (thread CPU time):")
    print(f"  fold per sample: with the grid {on[0]:.0f} ns, without {off[0]:.0f} ns, "
          f"ratio {on[0] / off[0]:.2f}")  # fmt: skip
    extra = (on[0] - off[0]) * n * 50 / 1e9
    print(f"  the grid's share of one core at 50 Hz: {100 * extra:.3f}%")
    print(f"  a snapshot: with the grid {on[1]:.2f} ms, without {off[1]:.2f} ms")
    print(f"load at end: {fmt_load(loadavg())}")


if __name__ == "__main__":
    main()
