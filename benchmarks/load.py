"""Load: many workers. Runs 64 thread workers and 32 process workers under gilviz with
/proc sampling at 50 Hz, and reports whether the sampler kept its rate (achieved Hz), how
many samples it took, and what gilviz's own process spent (CPU share of one core).

    .venv/bin/python benchmarks/load.py [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from gilviz.core import report
from gilviz.core.running.session import Run  # noqa: E402
from gilviz.core.running.spec import build_spec  # noqa: E402


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(pool: str, workers: int, workload: str, size: int, tasks: int) -> dict:
    spec = build_spec(workload, pool=pool, workers=workers, tasks=tasks, size=size)
    run = Run(spec, sample_hz=50)
    c0, t0 = _cpu_s(), time.monotonic()
    run.start()
    run.wait()
    cpu, wall = _cpu_s() - c0, time.monotonic() - t0
    s = report.run_summary(run.model)
    return {
        "case": f"{workers} {pool} workers, {workload}",
        "workers_seen": len(s["workers"]),
        "tasks_done": s["tasks_done"],
        "hz": s["gil"]["sample_hz"],
        "samples": s["gil"]["samples"],
        "gilviz_cpu": cpu / wall,
        "wall": wall,
        "error": s["error"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each run")
    args = ap.parse_args()
    ms = int(args.seconds * 1000)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    rows = [
        measure("thread", 64, "sleep", ms, 64),
        measure("process", 32, "sleep", ms, 32),
        measure("thread", 64, "crunch", 400_000, 640),
    ]
    print(f"{'case':<34}{'seen':>6}{'tasks':>7}{'Hz':>7}{'samples':>9}{'gilviz CPU':>12}")
    for r in rows:
        print(
            f"{r['case']:<34}{r['workers_seen']:>6}{r['tasks_done']:>7}{r['hz']:>7.1f}"
            f"{r['samples']:>9}{100 * r['gilviz_cpu']:>11.1f}%"
            + (f"  error: {r['error']}" if r["error"] else "")
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print(
        "gilviz CPU = the whole gilviz process (sampler, reader, model) per second of run, "
        "as a share of one core"
    )


if __name__ == "__main__":
    main()
