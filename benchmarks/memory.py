"""Memory against the task count: does a run of a million tasks fit where ten thousand do?
And does submitting a window at a time cost tiny tasks any throughput? (issue 24)

1. **Peak RSS.** ``gilviz run tiny --pool P --workers 2 --tasks N --size 1 --hz 0 --json``
   for N = 10^4, 10^5, 10^6 on thread and process pools, each run watched from here every
   ``--every`` seconds until it exits: every process of its tree (gilviz, the runner, the
   process pool's workers), found through /proc/PID/task/TID/children. Per process, the
   kernel's own high-water mark (VmHWM, read until the process is gone: exact but for what
   it gained in the last interval); for the tree, the highest sum of VmRSS seen in one look
   (sampled; pages a fork shares are counted in each process). The same runs are made with
   gilviz as it was before the window (``--before``, a git commit, extracted with
   ``git archive``), up to ``--before-max`` tasks, so both are measured in one run.
2. **Tiny-task throughput, before and after.** ``gilviz run tiny`` (20,000 tasks of
   sum(range(100)) on 2 threads; 2,000 on 2 processes; 100,000 serially) with the old and
   the new gilviz in a fresh random order each round, ``--rounds`` rounds; the figure is
   the runner's own wall time (``wall_s``: pool creation to the last task), the ratio the
   geometric mean of the per-round ratios new / old with its 90% t interval.
3. **The serial loop in one process.** The old and the new runner's ``_run_serial`` on
   200,000 tiny tasks, alternating in this process (the old runner imported from the
   extracted tree), timed by the thread's CPU clock: the per-task cost of the task wrapper and its token, without the
   noise of a subprocess's start-up or of two threads passing the GIL.

Nothing here exits non-zero because of a figure.

    .venv/bin/python benchmarks/memory.py [--tasks 10000,100000,1000000] [--pools thread,process]
        [--before COMMIT] [--before-max 100000] [--rounds 10] [--only CASE] [--every 0.02]
        [--skip-rss] [--skip-throughput]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, TreeMemory, fmt_load, loadavg  # noqa: E402
from overhead import geomean  # noqa: E402

#: The last commit whose runner submitted every task at once.
BEFORE = "44c145b"
MB = 1 << 20
THROUGHPUT = [
    # label, pool, workers, tasks
    ("tiny x2 threads", "thread", 2, 20_000),
    ("tiny x2 processes", "process", 2, 2_000),
    ("tiny serial", "serial", 1, 100_000),
]


def extract(commit: str, into: Path) -> Path:
    """The src/ folder of gilviz at ``commit``."""
    blob = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "src"],
        capture_output=True,
        check=True,
    ).stdout
    tar_path = into / "src.tar"
    tar_path.write_bytes(blob)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def gilviz_run(src: Path, pool: str, workers: int, tasks: int, every: float | None = None):
    """One ``gilviz run tiny`` with the gilviz in ``src``; its JSON run and, when watched,
    its tree's memory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, "-m", "gilviz", "run", "tiny", "--pool", pool, "--workers",
           str(workers), "--tasks", str(tasks), "--size", "1" if every else "100", "--hz",
           "0", "--json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    watch = None
    if every:
        watch = TreeMemory(proc.pid)
        done = threading.Event()

        def loop() -> None:
            while not done.is_set():
                watch.look()
                done.wait(every)

        t = threading.Thread(target=loop, daemon=True)
        t.start()
    out, err = proc.communicate()
    if watch is not None:
        done.set()
        t.join()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {err.decode()[-500:]}")
    run = json.loads(out)["runs"][0]
    if run["error"]:
        raise RuntimeError(f"{' '.join(cmd)}: {run['error']}")
    return run, watch


def rss_table(args, trees: dict[str, Path]) -> None:
    print(
        f"1. peak RSS, gilviz run tiny --workers 2 --size 1 --hz 0, looked at every "
        f"{args.every * 1000:g} ms"
    )
    print(
        "   gilviz, runner, worker: that process's VmHWM; tree: the highest sum of VmRSS in "
        "one look; Σhwm: the sum of every process's VmHWM"
    )
    head = (
        f"   {'pool':<8} {'tasks':>9} {'gilviz':>6} {'gilviz':>7} {'runner':>7} {'worker':>7} "
        f"{'tree':>7} {'Σhwm':>7} {'in flight':>11} {'wall s':>7}"
    )
    print(head)
    for pool in args.pools:
        for tasks in args.tasks:
            for which, src in trees.items():
                if which == "before" and tasks > args.before_max:
                    continue
                t0 = time.monotonic()
                run, w = gilviz_run(src, pool, 2, tasks, args.every)
                wall = time.monotonic() - t0
                flight = run.get("in_flight")
                window = f"{flight['peak']}/{flight['bound']}" if flight else "all"
                worker = w.peak("worker")
                print(
                    f"   {pool:<8} {tasks:>9,} {which:>6} {w.peak('gilviz') / MB:>6.0f}M "
                    f"{w.peak('runner') / MB:>6.0f}M "
                    f"{(f'{worker / MB:.0f}M' if worker else '-'):>7} "
                    f"{w.peak_rss['tree'] / MB:>6.0f}M {w.hwm_sum() / MB:>6.0f}M {window:>11} "
                    f"{wall:>7.1f}",
                    flush=True,
                )


def throughput(args, trees: dict[str, Path]) -> None:
    print()
    print(
        f"2. tiny-task throughput, new / old runner wall time, {args.rounds} rounds in random "
        "order (geometric mean, 90% interval; < 1 is faster)"
    )
    cases = [c for c in THROUGHPUT if args.only in c[0]]
    walls: dict[str, dict[str, list[float]]] = {c[0]: {"before": [], "after": []} for c in cases}
    for _ in range(args.rounds):
        order = [(c, which) for c in cases for which in trees]
        random.shuffle(order)
        for (label, pool, workers, tasks), which in order:
            run, _ = gilviz_run(trees[which], pool, workers, tasks)
            walls[label][which].append(run["wall_s"])
    for label, by in walls.items():
        ratios = [a / b for a, b in zip(by["after"], by["before"], strict=True)]
        g, (lo, hi) = geomean(ratios)
        med_b = sorted(by["before"])[len(by["before"]) // 2]
        med_a = sorted(by["after"])[len(by["after"]) // 2]
        print(
            f"   {label:<18} old {med_b:.3f} s  new {med_a:.3f} s (medians)  "
            f"new/old {g:.3f} [{lo:.3f}, {hi:.3f}]",
            flush=True,
        )


def hot_path(args, trees: dict[str, Path]) -> None:
    """The old and the new runner's serial loop in this one process, alternating: the task
    wrapper and its token, without a subprocess's start-up or a pool's GIL hand-offs."""
    import importlib.util

    sys.path.insert(0, str(trees["after"]))
    from gilviz.core.running import runner as new

    spec_obj = importlib.util.spec_from_file_location(
        "gilviz_old_runner", trees["before"] / "gilviz/core/running/runner.py"
    )
    old = importlib.util.module_from_spec(spec_obj)
    spec_obj.loader.exec_module(old)
    n = 200_000
    # By module path: the old runner reads fields of a built-in the new one no longer has.
    spec = {"workload": "gilviz.core.running.workloads:tiny", "pool": "serial", "workers": 1,
            "tasks": n, "size": 100, "params": {}, "switch_interval": None}  # fmt: skip
    fd = os.open(os.devnull, os.O_WRONLY)
    per: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        order = [("before", old), ("after", new)]
        random.shuffle(order)
        for which, mod in order:
            emit = mod.Emitter(fd)
            r = mod.Runner(dict(spec), emit)
            # This thread's CPU time: a busy machine's waits for a core are left out.
            t0 = time.thread_time_ns()
            r._run_serial()
            per[which].append((time.thread_time_ns() - t0) / n)
            emit.close()
    os.close(fd)
    ratios = [a / b for a, b in zip(per["after"], per["before"], strict=True)]
    g, (lo, hi) = geomean(ratios)
    med = {k: sorted(v)[len(v) // 2] for k, v in per.items()}
    print()
    print(
        f"3. the serial loop in one process, {n:,} tiny tasks, {args.rounds} rounds: "
        f"old {med['before']:.0f} ns, new {med['after']:.0f} ns of CPU a task (medians), "
        f"new/old {g:.3f} [{lo:.3f}, {hi:.3f}]",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="10000,100000,1000000")
    p.add_argument("--pools", default="thread,process")
    p.add_argument("--before", default=BEFORE, help="the gilviz to compare with (a commit)")
    p.add_argument("--before-max", type=int, default=100_000,
                   help="largest task count run with the old gilviz too")  # fmt: skip
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--every", type=float, default=0.02, help="seconds between looks")
    p.add_argument("--only", default="", help="throughput cases whose label has this")
    p.add_argument("--skip-rss", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    args = p.parse_args(argv)
    args.tasks = [int(float(t)) for t in args.tasks.split(",")]
    args.pools = args.pools.split(",")
    load0 = loadavg()
    with tempfile.TemporaryDirectory(prefix="gilviz-mem-") as tmp:
        trees = {"before": extract(args.before, Path(tmp)), "after": REPO / "src"}
        print(f"before: gilviz at {args.before}; after: this tree. load at start {fmt_load(load0)}")
        if not args.skip_rss:
            rss_table(args, trees)
        if not args.skip_throughput:
            throughput(args, trees)
            hot_path(args, trees)
    print(f"\nload at end {fmt_load(loadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
