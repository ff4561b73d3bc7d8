"""Soak: does memory stay flat on a long run of the dashboard, in gilviz and in what it
runs? (issues 8 and 24)

Two ways, both for ``--minutes`` on a continuous run (crunch on 4 thread workers with ten
million tasks by default, ``--pool process`` for a process pool):

- **tmux** (the default): the real ``gilviz`` in a detached 120x40 tmux pane, started with
  ``gilviz crunch ... --start``, watched from outside through /proc.
- **--pilot**: the dashboard headlessly in this process (Textual's Pilot, 120x40), through
  the real LiveController; it also counts what the model keeps: per-worker timelines and
  task intervals, the latency and throughput series, the core histories, samples waiting
  to be folded (``_pending``), the latency histogram's buckets. Bounded ring buffers mean
  those counts reach their caps and stay there.

Every ``--every`` seconds it samples the RSS of gilviz's process (the app, the reader and
the /proc sampler), of the runner (the pool, its task window) and of the runner's workers
(a process pool's, summed), from /proc/PID/status.

Prints RSS at start, max and end of each, and the counts over time. The verdict says, for
each, whether RSS grew by more than ``--max-growth-mb`` after the warm-up (the first sample
after 60 s, or the first sample for short runs); the exit code is 0 either way.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--every 10] [--size 20000]
        [--pool thread] [--workers 4] [--pilot]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import TreeMemory  # noqa: E402
from gilviz.core.model import SERIES_LEN, TIMELINE_LEN  # noqa: E402
from gilviz.core.running.session import stop_all  # noqa: E402
from gilviz.core.running.spec import MAX_TASKS  # noqa: E402
from gilviz.core.teaching.presets import PoolChoice, Preset  # noqa: E402

MB = 1024 * 1024


def soak_preset(workload: str, pool: str, workers: int, size: int) -> Preset:
    return Preset(
        name="soak",
        title=f"soak: {workload} on {pool} ×{workers}",
        workload=workload,
        teaches="",
        narration=("A long run: memory must stay flat.",),
        pools=(PoolChoice(pool, workers=workers),),
        size=size,
        tasks=MAX_TASKS,
    )


def model_counts(model) -> dict[str, int]:
    """What the model keeps, in samples/points (read under its lock where it matters)."""
    snap = model.snapshot()
    with model._lock:
        ws = list(model.workers.values())
        pending = len(model._pending)
        ends = max((len(w.ends) for w in ws), default=0)
        opens = max((len(w.open_starts) for w in ws), default=0)
        timeline = max((len(w.timeline) for w in ws), default=0)
        buckets = len(model._latency.counts)
        lat_window = len(model._lat_window)
    return {
        "workers": len(snap.workers),
        "tasks_done": snap.tasks_done,
        "timeline_sum": sum(len(w.timeline) for w in snap.workers),
        "timeline_max": timeline,
        "ends_max": ends,
        "open_max": opens,
        "pending": pending,
        "lat_series": len(snap.latency_series),
        "thr_series": len(snap.throughput_series),
        "core_hist_max": max((len(c.history) for c in snap.cores), default=0),
        "hist_buckets": buckets,
        "lat_window": lat_window,
    }


COLS = [
    ("t_s", 6), ("rss_mb", 8), ("runner_mb", 10), ("workers_mb", 11), ("tasks_done", 11), ("timeline_sum", 13), ("timeline_max", 13),
    ("ends_max", 9), ("open_max", 9), ("pending", 8), ("lat_series", 11), ("thr_series", 11),
    ("core_hist_max", 14), ("hist_buckets", 13), ("lat_window", 11),
]  # fmt: skip


def row(values: dict) -> str:
    out = []
    for name, w in COLS:
        v = values.get(name, "")
        out.append((f"{v:.1f}" if isinstance(v, float) else str(v)).rjust(w))
    return " ".join(out)


async def soak(args: argparse.Namespace) -> list[dict]:
    import plotext  # noqa: F401  (imported up front, as the launcher does)

    from gilviz.tui.app import GilvizApp
    from gilviz.tui.controllers.live import LiveController
    from gilviz.tui.machine import Machine
    from gilviz.tui.style import Look

    controller = LiveController(sample_hz=args.hz)
    app = GilvizApp(
        deck=[soak_preset(args.workload, args.pool, args.workers, args.size)],
        controller=controller,
        machine=Machine.here(),
        look=Look(),
        sample_hz=args.hz,
        preset="soak",
        autostart=True,
        record_results=False,
    )
    rows: list[dict] = []
    restarts = 0
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            t0 = time.monotonic()
            end = t0 + args.minutes * 60
            print(
                f"soak: {args.workload} size {args.size} on {args.pool} ×{args.workers}, "
                f"{args.hz:g} Hz sampling, {args.minutes:g} min, 120x40, pid {os.getpid()}",
                flush=True,
            )
            print(row({n: n for n, _ in COLS}), flush=True)
            next_at = t0
            while True:
                now = time.monotonic()
                if now >= next_at:
                    run = controller._run
                    values: dict = {"t_s": round(now - t0)}
                    gc.collect()
                    values.update(tree_mb(os.getpid()))
                    if run is not None:
                        values.update(model_counts(run.model))
                    rows.append(values)
                    print(row(values), flush=True)
                    next_at += args.every
                if now >= end:
                    break
                progress = controller.poll()
                if progress.finished:
                    restarts += 1
                    await pilot.press("s")
                await asyncio.sleep(min(1.0, max(0.05, next_at - time.monotonic())))
            controller.stop()
    finally:
        controller.shutdown()
        stop_all()
    if restarts:
        print(f"(the run ended and was restarted {restarts} time(s))")
    return rows


def tree_mb(gilviz_pid: int) -> dict[str, float]:
    """RSS now of gilviz, of its runner and of the runner's workers (summed), in MB."""
    now = TreeMemory(gilviz_pid).look()
    return {
        "rss_mb": now["gilviz"] / MB,
        "runner_mb": now["runner"] / MB,
        "workers_mb": now["worker"] / MB,
    }


def tmux(socket: str, *args: str, check: bool = True) -> str:
    out = subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", *args], capture_output=True, text=True
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def soak_tmux(args: argparse.Namespace) -> list[dict]:
    """The real gilviz in a tmux pane, sampled from outside."""
    if shutil.which("tmux") is None:
        raise SystemExit("soak: tmux is not installed (or run with --pilot)")
    socket = f"gilviz-soak-{os.getpid()}"
    src = Path(__file__).resolve().parent.parent / "src"
    cmd = (
        f"PYTHONPATH={src} exec {sys.executable} -m gilviz {args.workload} --pool {args.pool} "
        f"--workers {args.workers} --tasks {MAX_TASKS} --size {args.size} --hz {args.hz:g} "
        "--start"
    )
    tmux(socket, "new-session", "-d", "-s", "soak", "-x", "120", "-y", "40",
         "-e", "TERM=tmux-256color", "-e", "COLORTERM=truecolor", cmd)  # fmt: skip
    rows: list[dict] = []
    try:
        pid = int(tmux(socket, "list-panes", "-t", "soak", "-F", "#{pane_pid}").split()[0])
        deadline = time.monotonic() + 60
        while not TreeMemory(pid).look()["runner"]:  # the run has started
            if time.monotonic() > deadline:
                print(tmux(socket, "capture-pane", "-t", "soak", "-p", check=False))
                raise SystemExit("soak: gilviz did not start its run within 60 s")
            time.sleep(0.2)
        print(
            f"soak (tmux): {args.workload} size {args.size} on {args.pool} ×{args.workers}, "
            f"{args.hz:g} Hz sampling, {args.minutes:g} min, 120x40, gilviz pid {pid}",
            flush=True,
        )
        cols = ("t_s", "rss_mb", "runner_mb", "workers_mb")
        print(" ".join(c.rjust(11) for c in cols), flush=True)
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        next_at = t0
        while True:
            now = time.monotonic()
            if now >= next_at:
                values: dict = {"t_s": round(now - t0), **tree_mb(pid)}
                rows.append(values)
                print(" ".join(f"{values[c]:11.1f}" for c in cols), flush=True)
                next_at += args.every
            if now >= end:
                break
            time.sleep(max(0.05, min(1.0, next_at - time.monotonic())))
        status = next(
            (
                ln.strip()
                for ln in tmux(socket, "capture-pane", "-t", "soak", "-p").splitlines()
                if "●" in ln
            ),
            "?",
        )
        print(f"on screen at the end: {status}")
        tmux(socket, "send-keys", "-t", "soak", "q", check=False)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and TreeMemory(pid).look()["gilviz"]:
            time.sleep(0.1)
    finally:
        tmux(socket, "kill-server", check=False)
    return rows


def report(rows: list[dict], max_growth_mb: float) -> None:
    print()
    warm = next((r for r in rows if r["t_s"] >= 60), rows[min(1, len(rows) - 1)])
    for key, who in (("rss_mb", "gilviz"), ("runner_mb", "runner"), ("workers_mb", "workers")):
        rss = [r[key] for r in rows]
        growth = rss[-1] - warm[key]
        verdict = "FLAT" if growth <= max_growth_mb else "GROWING"
        print(
            f"{who:<8} RSS start {rss[0]:.1f} MB, max {max(rss):.1f} MB, end {rss[-1]:.1f} MB; "
            f"{verdict}: {growth:+.1f} MB from t={warm['t_s']} s to the end "
            f"(limit {max_growth_mb:g} MB)"
        )
    if "timeline_max" not in rows[-1]:
        return
    caps = f"caps: timeline {TIMELINE_LEN}/worker, series {SERIES_LEN}, task intervals 4096"
    print(caps)
    last = rows[-1]
    print(
        "kept at the end: "
        + ", ".join(
            f"{k} {last[k]}"
            for k in ("timeline_max", "ends_max", "pending", "thr_series")
            if k in last
        )
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--workload", default="crunch")
    p.add_argument("--pool", default="thread")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--size", type=int, default=20_000, help="task size (crunch: ~1 ms)")
    p.add_argument("--hz", type=float, default=50.0, help="sampling rate")
    p.add_argument("--max-growth-mb", type=float, default=5.0)
    p.add_argument(
        "--pilot", action="store_true", help="run the app in this process (model counts too)"
    )
    args = p.parse_args(argv)
    rows = asyncio.run(soak(args)) if args.pilot else soak_tmux(args)
    if rows:
        report(rows, args.max_growth_mb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
