"""How close are ``gilviz watch`` and ``gilviz attach`` to an exact reference?

``accuracy.py`` measures gilviz's own runs. This one measures a program gilviz did not start
as its runner: a plain Python script with threads, watched in two ways, each in this
process through ``gilviz.core.running.watch.Watch`` (what the command line uses):

- **watch**: ``Watch(watch_spec(argv=[python, target.py, ...]))`` starts the script itself,
  as ``gilviz watch -- CMD`` does;
- **attach**: the benchmark starts the script, waits until all its threads exist, then
  ``Watch(watch_spec(pid=...))`` looks at it for ``--duration`` seconds, as
  ``gilviz attach PID --duration S`` does.

Either way the script is a child of this process started after perf, so perf's record
covers it from its first instruction. Cases (each thread works until the script's deadline):

1. ``crunch x3``: the seed's ``crunch`` (a pure-Python loop) on three threads;
2. ``starved``: one thread sleeping 1 ms in a loop (an "I/O" thread) beside two crunching
   threads. After each sleep it needs the GIL back, and a cruncher keeps it for up to the
   5 ms switch interval: it spends most of its life waiting for the GIL, not sleeping.

Every thread of the script is shown, its main thread (in ``join``) included. All figures are
shares of the span gilviz sampled that thread (without task events gilviz counts a thread
busy all the time it exists), clipped to perf's record:

- **gilviz**: its states, as on the dashboard;
- **perf** (exact): ``blk`` asleep in a futex wait inside the process's GIL range
  (``gilsym.locate_gil``), enter to wake-up, which is what gilviz calls gil_wait; ``ret``
  enter to return (adds the runqueue delay after the wake-up); ``lock`` asleep in other
  futex waits; ``sleep`` in nanosleep. Method in ``benchmarks/README.md`` (accuracy.py).
- **py-spy**: ``py-spy dump --nonblocking --json`` 8 times a second. It has no "waiting for
  the GIL" label: ``idle`` is the share of dumps where it called the thread not active (a
  thread blocked in a system call: GIL wait, sleep and lock wait alike), ``gil`` the share
  where the thread held the GIL.

Run as root on Linux (perf tracepoints; py-spy is optional):

    .venv/bin/python benchmarks/watch_accuracy.py [--rounds N] [--seconds S] [--duration S]
        [--hz HZ] [--only watch|attach|crunch|starved]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import (  # noqa: E402
    NOISY_LOAD,
    OtherLoad,
    PerfFutex,
    PerfShares,
    PySpyPoller,
    clip,
    fmt_load,
    loadavg,
    thread_perf,
    thread_spy,
)
from gilviz.core.measuring import gilsym  # noqa: E402
from gilviz.core.running.watch import Watch, watch_spec  # noqa: E402

BUSY = ("running", "gil_wait", "io_wait", "lock_wait", "runnable")
TARGET = 0.05  # accuracy.py's target for |gil_wait - perf blk|
CASES = ("crunch x3", "starved")
MODES = ("watch", "attach")

#: The watched program: ``python target.py CASE SECONDS ROLES``. Each thread appends
#: "TID ROLE" to ROLES when it starts; the sleeper adds its wake-up count when it ends.
PROGRAM = """
import os, sys, threading, time

def crunch(n):
    s = 0
    for i in range(n):
        s += i * i
    return s

case, seconds, roles = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + seconds

def note(text):
    fd = os.open(roles, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"{threading.get_native_id()} {text}\\n".encode())
    os.close(fd)

def cruncher():
    note("crunch")
    while time.monotonic() < deadline:
        crunch(200_000)

def sleeper():
    note("sleeper")
    t0, n = time.monotonic(), 0
    while time.monotonic() < deadline:
        time.sleep(0.001)
        n += 1
    note(f"wakeups {n} {time.monotonic() - t0:.3f}")

note("main")
work = [cruncher] * 3 if case == "crunch x3" else [sleeper, cruncher, cruncher]
threads = [threading.Thread(target=f) for f in work]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


class SpannedWatch(Watch):
    """``Watch`` that also keeps, per worker, the span its samples cover: the time its
    states are shares of, and so the window perf and py-spy are read over."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spans: dict[int, list[int]] = {}

    def _on_tick(self, samples: list, core: object) -> None:
        for s in samples:
            cur = self.spans.get(s.wid)
            if cur is None:
                self.spans[s.wid] = [s.t_ns - s.dt_ns, s.t_ns]
            else:
                cur[1] = s.t_ns
        super()._on_tick(samples, core)


@dataclass
class ThreadFig:
    tid: int
    role: str
    span_s: float
    gv: dict[str, float] | None
    perf: PerfShares | None
    spy_idle: float | None
    spy_gil: float | None
    spy_n: int


@dataclass
class CaseResult:
    mode: str
    case: str
    threads: list[ThreadFig]
    contention: float | None
    wall_s: float
    achieved_hz: float | None
    others_cores: float
    load_start: tuple[float, float, float]
    sleeper_rate: float | None = None  # wake-ups a second the sleeper managed
    spy_errors: int = 0
    notes: list[str] = field(default_factory=list)


def _read_roles(path: Path) -> tuple[dict[int, str], float | None]:
    roles: dict[int, str] = {}
    rate = None
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return roles, rate
    for line in lines:
        parts = line.split()
        if len(parts) == 2:
            roles[int(parts[0])] = parts[1]
        elif len(parts) == 4 and parts[1] == "wakeups" and float(parts[3]) > 0:
            rate = int(parts[2]) / float(parts[3])
    return roles, rate


def _end(proc: subprocess.Popen, timeout: float) -> None:
    """Wait for the script to end by its own deadline; kill it past ``timeout``."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_case(
    mode: str, case: str, seconds: float, duration: float, hz: float, perf_ok: bool
) -> CaseResult:
    tmp = Path(tempfile.mkdtemp(prefix="gilviz-bench-watch-"))
    script, roles_path = tmp / "target.py", tmp / "roles"
    script.write_text(PROGRAM)
    notes: list[str] = []
    load_start = loadavg()
    other = OtherLoad()
    perf = PerfFutex() if perf_ok else None
    if perf is not None:
        perf.start()  # before the script starts: its record then covers the whole script
    spy = PySpyPoller(hz=8.0)
    spy.start()
    target: subprocess.Popen | None = None
    gil: tuple[int, int] | None = None
    watch: SpannedWatch | None = None
    try:
        if mode == "watch":
            argv = [sys.executable, str(script), case, str(seconds), str(roles_path)]
            watch = SpannedWatch(watch_spec(argv=argv), sample_hz=hz)
            watch.start()
            assert watch.proc is not None
            pid = watch.proc.pid
        else:
            argv = [sys.executable, str(script), case, str(duration + 2), str(roles_path)]
            target = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            pid = target.pid
            deadline = time.monotonic() + 30
            # All four threads running: each notes itself first thing.
            while len(_read_roles(roles_path)[0]) < 4 and time.monotonic() < deadline:
                if target.poll() is not None:
                    break
                time.sleep(0.01)
            spec = watch_spec(pid=pid)
            spec = replace(spec, params={**spec.params, "duration_s": duration})
            watch = SpannedWatch(spec, sample_hz=hz)
            watch.start()
        spy.pids.add(pid)
        limit = time.monotonic() + max(seconds, duration) + 60
        while not watch.wait(0.02):
            if gil is None:
                try:
                    loc = gilsym.locate_gil(pid)
                    gil = (loc.start, loc.end)
                except gilsym.GilNotFound:
                    pass  # not mapped yet, right after the exec
            if time.monotonic() > limit:
                notes.append("watch did not end in time: stopped")
                watch.stop()
                break
    finally:
        if watch is not None:
            watch.stop()
        if target is not None:
            _end(target, duration + 30)
        spy.stop()
        if perf is not None:
            perf.stop()
    others = other.cores()
    snap = watch.model.snapshot()
    if snap.error:
        notes.append(snap.error)
    roles, rate = _read_roles(roles_path)
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()

    perf_res = perf.parse({w.tid for w in snap.workers}) if perf is not None else None
    if perf is not None:
        perf.cleanup()
    if perf_res is not None and perf_res.lost:
        notes.append("perf lost events: " + perf_res.lost[:120])
    if perf is not None and gil is None:
        notes.append("GIL not located: no perf figures")
    figs = []
    for wv in snap.workers:
        span = watch.spans.get(wv.wid)
        windows = [tuple(span)] if span else []
        if perf_res is not None and perf_res.first_ns is not None:
            windows = clip(windows, perf_res.first_ns, perf_res.last_ns)
        gv = None
        if wv.states is not None:
            b = sum(wv.states[k] for k in BUSY)
            gv = {k: wv.states[k] / b for k in BUSY} if b > 0 else None
        ps = None
        if perf_res is not None and gil is not None:
            ps = thread_perf(perf_res.calls.get(wv.tid, []), windows, gil)
        idle, held, n = thread_spy(spy.samples.get(wv.tid, []), windows)
        span_s = sum(b - a for a, b in windows) / 1e9
        figs.append(ThreadFig(wv.tid, roles.get(wv.tid, "?"), span_s, gv, ps, idle, held, n))
    order = {"main": 0, "sleeper": 1, "crunch": 2}
    figs.sort(key=lambda f: (order.get(f.role, 3), f.tid))
    return CaseResult(
        mode,
        case,
        figs,
        snap.gil_contention,
        snap.elapsed_s,
        watch.model.sample_hz,
        others,
        load_start,
        rate,
        spy.errors,
        notes,
    )


# --------------------------------------------------------------------------- report


def _f(x: float | None, w: int = 5) -> str:
    return f"{x:{w}.2f}" if x is not None else f"{'n/a':>{w}}"


HEADER = (
    f"{'mode':<6} {'case':<9} {'thread':<7} {'span':>5} | "
    f"{'run':>5} {'gil':>5} {'io':>5} {'lock':>5} {'rq':>5} | "
    f"{'blk':>5} {'ret':>5} {'lock':>5} {'sleep':>5} | {'idle':>5} {'gil':>5} {'n':>3} | "
    f"{'|gil-blk|':>9}"
)
HEADER0 = (
    f"{'':<6} {'':<9} {'':<7} {'s':>5} | {'gilviz (share of span)':^29} | "
    f"{'perf (exact)':^23} | {'py-spy dumps':^15} |"
)


def fmt_thread(res: CaseResult, f: ThreadFig) -> tuple[str, float | None]:
    g, p = f.gv, f.perf
    gv = " ".join(_f(g[k] if g else None) for k in BUSY)
    pf = " ".join(_f(getattr(p, k) if p else None) for k in ("blk", "ret", "lock", "sleep"))
    d = abs(g["gil_wait"] - p.blk) if g and p else None
    flag = " >0.05" if d is not None and d > TARGET else ""
    line = (
        f"{res.mode:<6} {res.case:<9} {f.role:<7} {f.span_s:5.2f} | {gv} | {pf} | "
        f"{_f(f.spy_idle)} {_f(f.spy_gil)} {f.spy_n:3d} | {_f(d, 9)}{flag}"
    )
    return line, d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0, help="how long each watched script works")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds each attach lasts")
    ap.add_argument("--hz", type=float, default=50.0, help="gilviz sampling rate")
    ap.add_argument("--only", default=None, help="run the mode or case containing this")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0 or args.duration <= 0 or args.hz <= 0:
        print(
            "watch_accuracy: --rounds, --seconds, --duration and --hz must be positive",
            file=sys.stderr,
        )
        return 2
    why = PerfFutex.available()
    if why:
        print(f"perf reference unavailable: {why}; only gilviz and py-spy are shown")
    todo = [
        (m, c)
        for m in MODES
        for c in CASES
        if args.only is None or args.only in m or args.only in c
    ]
    print(
        f"gilviz watch/attach accuracy: {len(todo)} runs x {args.rounds} round(s), sampling "
        f"{args.hz:g} Hz, watched scripts {args.seconds:g} s, attach {args.duration:g} s, "
        f"{len(os.sched_getaffinity(0))} usable cores, python {sys.version.split()[0]}"
    )
    print(
        "shares of each thread's sampled span; perf blk = asleep in a GIL futex (enter.."
        "wake-up), ret = enter..return; py-spy idle = dumps calling it not active"
    )
    diffs: list[float] = []
    for rnd in range(1, args.rounds + 1):
        print(f"\nround {rnd}: load average at start {fmt_load(loadavg())}")
        print(HEADER0)
        print(HEADER)
        for mode, case in todo:
            res = run_case(mode, case, args.seconds, args.duration, args.hz, why is None)
            for f in res.threads:
                line, d = fmt_thread(res, f)
                print(line)
                if d is not None and f.role != "main":
                    diffs.append(d)
            noisy = res.others_cores > 0.25 or res.load_start[0] > NOISY_LOAD
            extra = [
                f"wall {res.wall_s:.1f}s",
                f"sampled {_f(res.achieved_hz, 1).strip()} Hz",
                f"contention {_f(res.contention).strip()}",
                f"others {res.others_cores:.2f} cores" + (" NOISY" if noisy else ""),
            ]
            if res.sleeper_rate is not None:
                extra.append(f"sleeper woke {res.sleeper_rate:.0f}/s (1000 unstarved)")
            if res.spy_errors:
                extra.append(f"spy errors {res.spy_errors}")
            extra += res.notes
            print(f"{'':<24} ({', '.join(extra)})")
            sys.stdout.flush()
        print(f"round {rnd}: load average at end {fmt_load(loadavg())}")
    if diffs:
        ok = max(diffs) <= TARGET
        print(
            f"\n|gilviz gil_wait - perf blk| over {len(diffs)} worker threads (main left out): "
            f"max {max(diffs):.3f}, mean {sum(diffs) / len(diffs):.3f}; target <= {TARGET}: "
            + ("met" if ok else "NOT met")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
