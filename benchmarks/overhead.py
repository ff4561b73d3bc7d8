"""What does watching cost the watched work? And what does gilviz itself use?

Five measurements, each printed as a ratio measured in this one run:

0. **Sampled against unsampled.** What a user sees: ``gilviz run crunch ... --json`` (the
   console script) sampled at 50 Hz with the heartbeat, sampled without the heartbeat, and
   with ``--hz 0 --no-heartbeat``, in a fresh random order each round (``--ratio-rounds``,
   20); crunch on 2 processes (4 tasks of 10M) and on 4 threads (4 tasks of 5M). The ratio
   of the runs' own wall times (``wall_s``), per round: its median, its spread (min–max
   and quartiles) and the geometric mean with its 90% interval.

1. **Throughput.** The same workload run bare (a plain ``concurrent.futures`` script in a
   subprocess, no gilviz) and under gilviz (``run_blocking``, /proc sampling at 50 Hz), with
   and without the heartbeat, in a random order each round, 40 rounds; the ratio is the
   geometric mean of the per-round ratios of wall times.
   Workloads: crunch on 2 processes, crunch on 4 threads, tiny tasks on 2 threads (three
   times the rounds: see TINY), and tiny tasks serially (the per-task cost alone). Bare is
   also run against itself: the noise floor; each ratio comes with its 90% interval (t, on
   the log ratios), so a verdict is read against what the rounds can tell.
2. **CPU share.** Throughput drifts by about 12% over tens of seconds on this machine, so a
   long-running target's CPU (schedstat of all its threads) is also read in alternating
   one-second windows with a ``SamplerLoop`` on and off: share lost = 1 - on / off. In the
   same windows, its work rate (crunch chunks its workers count in a shared file): the
   geometric mean of the on/off ratios of neighbouring windows, with its 90% interval, so
   the sampler's part of section 1's ratio is read with the drift cancelled.
3. **Sampler CPU.** The CPU time of gilviz's sampling thread (its schedstat) during real runs
   at 50 Hz with 16 and 64 sleeping worker threads, as % of one core; with the whole gilviz
   process's CPU (getrusage) beside it, and a thread that only sleeps and wakes at 50 Hz
   during the same run (what this VM charges for the wake-ups alone, at that moment).
4. **Heartbeat.** Part of 1 (gilviz with and without ``--no-heartbeat``).

Targets: sampled / unsampled <= 1.03 (process pool); under gilviz <= 3% slower; <= 1% CPU share lost; sampler <= 2.5% of a core at
50 Hz with 16 workers and <= 7% with 64. A throughput target is called met or not only when
the whole 90% interval lies on one side of it, else undecided. No exit code depends on them.

    .venv/bin/python benchmarks/overhead.py [--rounds N] [--windows N] [--quick]
        [--only CASE] [--bare-wait token|wait|result] [--ratio-rounds N] [--ratio-only]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import mmap
import os
import random
import resource
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import NOISY_LOAD, REPO, fmt_load, loadavg  # noqa: E402
from gilviz.core.measuring.sampler import ProcSampler, SamplerLoop  # noqa: E402
from gilviz.core.measuring.samples import ThreadRef  # noqa: E402
from gilviz.core.running.session import Run, run_blocking  # noqa: E402
from gilviz.core.running.spec import build_spec  # noqa: E402

HZ = 50.0
TARGET_SLOWER = 0.03
TARGET_SHARE = 0.01
TARGET_SAMPLER = {16: 0.025, 64: 0.07}

# The bare run: what gilviz's runner does, minus gilviz. The wall time covers the same span
# as the runner's (pool creation to shutdown). How the caller waits for its results changes
# how two threads pass the GIL for tiny tasks (see TINY), so the bare script waits as the
# runner does: each thread-pool task pops a token, the last one sets an event. WAIT picks
# another way, for comparison: "result" (f.result() in turn: a wake-up of the caller per
# task) or "wait" (cf.wait: a lock shared by every task's completion).
BARE = textwrap.dedent(
    """
    import concurrent.futures as cf, multiprocessing, sys, threading, time
    from gilviz.core.running import workloads
    name, pool, workers, tasks, size = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    wait, pad, now = sys.argv[6], range(int(sys.argv[7])), time.monotonic_ns
    fn = workloads.resolve(name)
    t0 = time.monotonic()
    if pool == "serial":
        for _ in range(tasks):
            fn(size)
            for _ in pad:
                now()
        print(time.monotonic() - t0)
        sys.exit()
    if pool == "thread":
        ex = cf.ThreadPoolExecutor(workers)
    else:
        ex = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context())
    if pool == "thread" and wait == "token":
        left, done = [None] * tasks, threading.Event()
        def task(arg):
            try:
                return fn(arg)
            finally:
                for _ in pad:
                    now()
                left.pop()
                if not left:
                    done.set()
        futs = [ex.submit(task, size) for _ in range(tasks)]
        done.wait()
    else:
        futs = [ex.submit(fn, size) for _ in range(tasks)]
        if wait != "result":
            cf.wait(futs)
    for f in futs:
        f.result()
    ex.shutdown(wait=True)
    print(time.monotonic() - t0)
    """
)

# A long target for the CPU-share windows: N crunch threads (or processes) until killed.
TARGET = textwrap.dedent(
    """
    import mmap, os, struct, sys, threading, multiprocessing
    PARENT = os.getpid()
    kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "r+b") as f:  # one 8-byte slot per worker, shared with the benchmark
        counts = mmap.mmap(f.fileno(), 8 * n)
    def crunch(slot):
        done, put = 0, struct.pack_into
        while True:
            sum(i * i for i in range(20_000))
            done += 1
            put("q", counts, 8 * slot, done)
            if os.getppid() != PARENT and os.getpid() != PARENT:  # orphaned fork: end
                os._exit(0)
    if kind == "thread":
        for i in range(n):
            threading.Thread(target=crunch, args=(i,), daemon=True).start()
        print(os.getpid(), flush=True)
        sys.stdin.read()
    else:
        procs = [multiprocessing.get_context("fork").Process(target=crunch, args=(i,),
                 daemon=True) for i in range(n)]
        for p in procs:
            p.start()
        print(" ".join(str(p.pid) for p in procs), flush=True)
        sys.stdin.read()
        for p in procs:
            p.kill()
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    return env


# --------------------------------------------------------------------------- others' CPU

CLEAN_OTHERS = 0.1  # cores: a window or round with more CPU used elsewhere is "noisy"


def _busy_s() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat, 10 ms resolution)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def _ours_s() -> float:
    """CPU seconds of this process and every child it has reaped (their children too)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Others:
    """CPU used by everything that is not ours during a span, in cores."""

    def __init__(self) -> None:
        self.t, self.busy, self.ours = time.monotonic(), _busy_s(), _ours_s()

    def cores(self, also_ours_s: float = 0.0) -> float:
        dt = time.monotonic() - self.t
        used = _busy_s() - self.busy - (_ours_s() - self.ours) - also_ours_s
        return max(0.0, used / dt) if dt > 0 else 0.0


# --------------------------------------------------------------------------- 0. sampled / unsampled

TARGET_RATIO = 1.03
RATIO_CASES = [
    # label, pool, workers, tasks, size (about 1 s each on 2 free cores)
    ("crunch x2 processes", "process", 2, 4, 10_000_000),
    ("crunch x4 threads", "thread", 4, 4, 5_000_000),
]
RATIO_KINDS = {
    "sampled": [],  # 50 Hz and the heartbeat: gilviz's defaults
    "no heartbeat": ["--no-heartbeat"],
    "unsampled": ["--hz", "0", "--no-heartbeat"],
}


def gilviz_cli() -> list[str]:
    """The console script a user runs, next to this Python (else ``-m gilviz``)."""
    exe = Path(sys.executable).with_name("gilviz")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gilviz"]


def cli_wall(pool: str, workers: int, tasks: int, size: int, extra: list[str]) -> float:
    cmd = [*gilviz_cli(), "run", "crunch", "--pool", pool, "--workers", str(workers),
           "--tasks", str(tasks), "--size", str(size), "--json", *extra]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=True)
    (run,) = json.loads(out.stdout)["runs"]
    if run.get("error"):
        raise RuntimeError(run["error"])
    return float(run["wall_s"])


def spread(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) >= 2 else [xs[0]] * 3
    return f"{min(xs):.3f}–{max(xs):.3f}, quartiles {q[0]:.3f}–{q[2]:.3f}"


def sampled_ratio(rounds: int) -> dict[str, dict[str, Any]]:
    print(
        f"\n0. sampled against unsampled: `gilviz run crunch ... --json` (its wall_s), sampled "
        f"at {HZ:g} Hz with the heartbeat, without it, and with --hz 0 --no-heartbeat, "
        f"{rounds} rounds in a fresh random order each; ratios per round"
    )
    out: dict[str, dict[str, Any]] = {}
    for label, pool, workers, tasks, size in RATIO_CASES:
        walls: dict[str, list[float]] = {k: [] for k in RATIO_KINDS}
        loads = []
        for r in range(rounds):
            order = list(RATIO_KINDS)
            random.Random(1000 + r).shuffle(order)
            for kind in order:
                walls[kind].append(cli_wall(pool, workers, tasks, size, RATIO_KINDS[kind]))
            loads.append(os.getloadavg()[0])
        res: dict[str, Any] = {"loads": (min(loads), max(loads))}
        for kind in ("sampled", "no heartbeat"):
            ratios = [a / b for a, b in zip(walls[kind], walls["unsampled"], strict=True)]
            g, ci = geomean(ratios)
            res[kind] = {"median": statistics.median(ratios), "ratios": ratios, "g": g, "ci": ci}
            print(
                f"  {label:<22} {kind + ' / unsampled':<28} median {statistics.median(ratios):.3f} "
                f"(spread {spread(ratios)}); geometric mean {g:.3f}, 90% CI {ci[0]:.3f}–{ci[1]:.3f}"
            )
        print(
            f"  {label:<22} median wall s: "
            + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in walls.items())
            + f"; 1-minute load {res['loads'][0]:.1f}–{res['loads'][1]:.1f}"
        )
        sys.stdout.flush()
        out[label] = res
    return out


# --------------------------------------------------------------------------- 1. throughput


CASES = [
    # label, workload, pool, workers, tasks, size, rounds x (crunch: about 1 s each on 2
    # free cores; tiny: ~0.3 s, and three times the rounds, see TINY below)
    ("crunch x2 processes", "crunch", "process", 2, 4, 10_000_000, 1),
    ("crunch x4 threads", "crunch", "thread", 4, 4, 5_000_000, 1),
    ("tiny tasks x2 threads", "tiny", "thread", 2, 20_000, 100, 3),
    ("tiny tasks serial", "tiny", "serial", 1, 200_000, 100, 1),
]
# TINY: 2 threads passing the GIL for tasks of a microsecond spend a run partly in 5 ms
# turns and partly in a ping-pong on every task (a convoy on the pool's locks), bare or not,
# and how much of each is chance: 12 bare runs took 0.17 s with 150 context switches and
# 0.41 s with 21,000, wall time rising with the switches all along. So that case gets three
# times the rounds; every case prints bare against bare (same script, same round) as the
# noise floor, and the median context switches of each kind (getrusage of the reaped child:
# the bare script, or gilviz's runner), which tell whether gilviz pushes the GIL into more
# ping-pong. The serial row is the instrumentation's own cost per task, without the GIL.
#
# STAND-IN: the tiny cases also run the bare script with PAD_CLOCKS clock reads added to
# every task, and nothing of gilviz: a per-task cost of about the size of gilviz's wrapper
# (the serial case measures it). It tells how much slower any per-task work of that size
# makes 2 threads passing the GIL, which is what the wrapper cannot avoid: in one run of
# 50 rounds, 0.37 µs of clock reads a task made the pool 25% slower, against 18% for
# gilviz's runner without sampling or heartbeat.
PAD_CLOCKS = 6


def _switches() -> int:
    """Context switches of every child reaped so far (their threads included)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_nvcsw + r.ru_nivcsw


def bare_wall(
    workload: str,
    pool: str,
    workers: int,
    tasks: int,
    size: int,
    wait: str = "token",
    pad: int = 0,
) -> float:
    args = [workload, pool, str(workers), str(tasks), str(size), wait, str(pad)]
    out = subprocess.run(
        [sys.executable, "-c", BARE, *args],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    return float(out.stdout.split()[-1])


def gilviz_wall(
    workload: str, pool: str, workers: int, tasks: int, size: int, heartbeat: bool
) -> float:
    spec = build_spec(
        workload, pool=pool, workers=workers, tasks=tasks, size=size, heartbeat=heartbeat
    )
    run = run_blocking(spec, sample_hz=HZ)
    if run.model.error():
        raise RuntimeError(run.model.error())
    return run.model.wall_s()


def throughput(rounds: int, only: str = "", wait: str = "token") -> dict[str, dict[str, Any]]:
    print(
        f"\n1. throughput: bare concurrent.futures (waiting by {wait}) vs gilviz ({HZ:g} Hz), "
        f"{rounds} rounds, random order each round; ratios are geometric means of per-round ratios "
        f"over clean rounds (others used < {CLEAN_OTHERS} cores)"
    )
    print(
        f"{'case':<24} {'bare s':>7} {'gilviz s':>8} {'no-hb s':>8} | {'gilviz/bare':>11} "
        f"{'no-hb/bare':>10} {'bare/bare':>9} | {'spread':>6} {'clean':>7}"
    )
    out: dict[str, dict[str, Any]] = {}
    for label, wl, pool, workers, tasks, size, times in CASES:
        if only not in label:
            continue
        n_rounds = rounds * times
        walls: dict[str, list[float]] = {"bare": [], "bare2": [], "gilviz": [], "nohb": []}
        if wl == "tiny":
            walls["pad"] = []  # see STAND-IN
        switches: dict[str, list[int]] = {k: [] for k in walls}
        pairs: list[tuple[float, ...]] = []  # ratios to bare (gilviz, nohb, bare2, pad), clean
        for r in range(n_rounds):
            got = {}
            others = Others()
            # A fresh random order each round: a fixed rotation leaves each kind after the
            # same neighbour most of the time, and what ran just before moves a run by 2-3%.
            order = list(walls)
            random.Random(r).shuffle(order)
            for kind in order:
                c0 = _switches()
                if kind.startswith("bare"):
                    got[kind] = bare_wall(wl, pool, workers, tasks, size, wait)
                elif kind == "pad":
                    got[kind] = bare_wall(wl, pool, workers, tasks, size, wait, PAD_CLOCKS)
                else:
                    got[kind] = gilviz_wall(wl, pool, workers, tasks, size, kind == "gilviz")
                switches[kind].append(_switches() - c0)
                walls[kind].append(got[kind])
            clean = others.cores() < CLEAN_OTHERS
            b = got["bare"]
            pad = got.get("pad", b) / b
            pairs.append((got["gilviz"] / b, got["nohb"] / b, got["bare2"] / b, pad, clean))
        use = [p for p in pairs if p[-1]]
        if len(use) < 3:
            use = pairs  # too few clean rounds: all of them, and say so
        med = {k: statistics.median(v) for k, v in walls.items()}
        (rg, (lo, hi)), (rn, _), (ra, (aa_lo, aa_hi)), (rp, pci) = (
            geomean([p[i] for p in use]) for i in range(4)
        )
        spread = (max(walls["bare"]) - min(walls["bare"])) / med["bare"]
        n_clean = sum(p[-1] for p in pairs)
        out[label] = {"gilviz": rg, "nohb": rn, "aa": ra, "noisy": n_clean < 3, "ci": (lo, hi)}
        out[label]["aa_ci"] = (aa_lo, aa_hi)
        out[label]["switches"] = {k: statistics.median(v) for k, v in switches.items()}
        # The instrumentation's price per task (no heartbeat), from the medians.
        out[label]["us_per_task"] = (med["nohb"] - med["bare"]) / tasks * 1e6
        if "pad" in walls:
            out[label]["pad"] = (rp, pci, (med["pad"] - med["bare"]) / tasks * 1e6)
        print(
            f"{label:<24} {med['bare']:7.3f} {med['gilviz']:8.3f} {med['nohb']:8.3f} | "
            f"{rg:11.3f} {rn:10.3f} {ra:9.3f} | {spread:6.0%} {n_clean:>3}/{n_rounds}  "
            f"90% CI gilviz/bare {lo:.3f}-{hi:.3f}, bare/bare {aa_lo:.3f}-{aa_hi:.3f}"
            + ("  noisy" if n_clean < 3 else "")
        )
        sw = out[label]["switches"]
        print(
            f"{'':<24} median context switches: bare {sw['bare']:.0f}, gilviz "
            f"{sw['gilviz']:.0f}, no-hb {sw['nohb']:.0f}, bare2 {sw['bare2']:.0f}"
            + (f", stand-in {sw['pad']:.0f}" if "pad" in sw else "")
        )
        if "pad" in walls:
            print(
                f"{'':<24} stand-in (bare + {PAD_CLOCKS} clock reads a task, no gilviz): "
                f"{med['pad']:.3f} s, {rp:.3f} x bare (90% CI {pci[0]:.3f}-{pci[1]:.3f}); "
                f"{(med['pad'] - med['bare']) / tasks * 1e6:.2f} µs a task from the medians"
            )
        sys.stdout.flush()
    return out


# --------------------------------------------------------------------------- 2. CPU share


def _threads_run_ns(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total


def _tid_run_ns(tid: int) -> int:
    with open(f"/proc/self/task/{tid}/schedstat") as f:
        return int(f.read().split()[0])


def cpu_share(kind: str, n: int, windows: int) -> dict[str, Any]:
    """Target's CPU (cores) and work rate (crunch chunks a second, counted by its workers)
    in alternating 1 s windows with sampling on and off."""
    counts_file = tempfile.NamedTemporaryFile(prefix="gilviz-overhead-")  # noqa: SIM115
    counts_file.write(bytes(8 * n))
    counts_file.flush()
    tally = mmap.mmap(counts_file.fileno(), 8 * n)

    def work() -> int:
        return sum(struct.unpack_from(f"{n}q", tally))

    proc = subprocess.Popen(
        [sys.executable, "-c", TARGET, kind, str(n), counts_file.name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pids: list[int] = []
    rates: list[tuple[float, bool, bool]] = []  # (chunks a second, sampling, clean) per window
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        time.sleep(0.3)  # let every thread start
        refs = []
        for pid in pids:
            for tid in sorted(int(t) for t in os.listdir(f"/proc/{pid}/task")):
                refs.append(ThreadRef(len(refs), pid, tid))
        sampler = ProcSampler()
        sampler.set_targets(refs)
        on: list[float] = []
        off: list[float] = []
        sampler_cpu: list[float] = []
        for w in range(windows * 2):
            sampling = w % 2 == (w // 2) % 2  # on/off, off/on, on/off...: no fixed phase
            loop = SamplerLoop(sampler, hz=HZ) if sampling else None
            if loop is not None:
                loop.start()
            others = Others()
            c0, w0, t0 = _threads_run_ns(pids), work(), time.monotonic_ns()
            s0 = _tid_run_ns(loop.native_id) if loop is not None else 0
            time.sleep(1.0)
            c1, w1, t1 = _threads_run_ns(pids), work(), time.monotonic_ns()
            share = (c1 - c0) / (t1 - t0)
            clean = others.cores(also_ours_s=(c1 - c0) / 1e9) < CLEAN_OTHERS
            rates.append(((w1 - w0) * 1e9 / (t1 - t0), sampling, clean))
            if loop is not None:
                sampler_cpu.append((_tid_run_ns(loop.native_id) - s0) / (t1 - t0))
                loop.stop()
                on.append((share, clean))
            else:
                off.append((share, clean))
        sampler.close()
    finally:
        proc.stdin.close()
        proc.kill()
        proc.wait()
        for pid in pids if kind == "process" else []:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        tally.close()
        counts_file.close()
    # Work rate: each pair of neighbouring windows (one on, one off) gives a ratio, so the
    # drift of this machine's speed over tens of seconds cancels out.
    pairs = [(a, b) if a[1] else (b, a) for a, b in zip(rates[0::2], rates[1::2], strict=True)]
    ratios = [on[0] / off[0] for on, off in pairs if on[2] and off[2] and off[0] > 0]
    if len(ratios) < 3:  # too few clean pairs: all of them (the share's "noisy" says so)
        ratios = [on[0] / off[0] for on, off in pairs if off[0] > 0]
    rate, (rate_lo, rate_hi) = geomean(ratios)
    clean_on = [v for v, c in on if c]
    clean_off = [v for v, c in off if c]
    counts = f"{len(clean_on)}+{len(clean_off)}/{len(on) + len(off)}"
    noisy = len(clean_on) < 3 or len(clean_off) < 3
    if noisy:  # too few clean windows: all of them, and say so
        clean_on, clean_off = [v for v, _ in on], [v for v, _ in off]
    m_on, m_off = statistics.median(clean_on), statistics.median(clean_off)
    return {
        "on": m_on,
        "off": m_off,
        "lost": 1 - m_on / m_off,
        "sd_off": statistics.stdev(clean_off) / m_off if len(clean_off) > 1 else 0.0,
        "rate_lost": 1 - rate,
        "rate_ci": (1 - rate_hi, 1 - rate_lo),
        "sampler": statistics.median(sampler_cpu),
        "threads": len(refs),
        "clean": counts,
        "noisy": noisy,
    }


# --------------------------------------------------------------------------- 3. sampler CPU


class _Waker(threading.Thread):
    """Sleeps 1/hz and wakes, as the sampler does, doing nothing else; stop() returns its
    CPU as a share of one core. This VM's cost of a wake-up moves by a factor of two or
    more over a day; this row says what it was during the sampler's run."""

    def __init__(self, hz: float) -> None:
        super().__init__(name="overhead-waker", daemon=True)
        self._period = 1 / hz
        self._lock = threading.Lock()
        self._lock.acquire()
        self._started = threading.Event()
        self.start()
        self._started.wait()

    def run(self) -> None:
        self._t0, self._c0 = time.monotonic_ns(), time.thread_time_ns()
        self._started.set()
        while not self._lock.acquire(timeout=self._period):
            pass
        self._share = (time.thread_time_ns() - self._c0) / (time.monotonic_ns() - self._t0)

    def stop(self) -> float:
        self._lock.release()
        self.join()
        return self._share


def sampler_cost(workers: int, seconds: float) -> dict[str, float]:
    """CPU of gilviz's sampling thread during a real run of ``workers`` sleeping threads,
    between the first and the last tick that saw every worker; and how much of it was
    spent inside ``tick()`` (reading /proc), the rest being the model's folding and the
    loop. Each worker runs one long ``sleep`` task, which wakes every
    ``workloads.CANCEL_POLL_S`` to look for a stop: the sampler reads such a thread whole
    at the tick after each wake-up, and by its schedstat alone at the others."""
    marks: list[tuple[int, int, int]] = []  # (t_ns, sampler thread run_ns, ns inside tick)
    holder: list = []

    def on_tick(samples: list, core: object) -> None:
        if len(samples) >= workers and holder:  # all workers in flight: a full-cost tick
            # thread_time is this (the sampler) thread's schedstat run time, without the
            # open/read/close of a /proc file that would bill the benchmark to the sampler
            marks.append(
                (time.monotonic_ns(), time.thread_time_ns(), holder[0].stats.tick_ns_total)
            )

    spec = build_spec(
        "sleep", pool="thread", workers=workers, tasks=workers, size=int(seconds * 1000)
    )
    others = Others()
    waker = _Waker(HZ)  # the same wake-ups doing nothing: what merely waking costs, now
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    w0 = time.monotonic()
    run = Run(spec, sample_hz=HZ, on_tick=on_tick)
    holder.append(run.sampler)
    run.start()
    run.wait()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - w0
    wake = waker.stop()
    if len(marks) < 2:
        raise RuntimeError(f"too few full ticks ({len(marks)}) with {workers} workers")
    (t0, c0, k0), (t1, c1, k1) = marks[0], marks[-1]
    loop = run._loop
    hz = loop.achieved_hz if loop is not None and loop.achieved_hz else float("nan")
    return {
        "sampler": (c1 - c0) / (t1 - t0),
        "in_tick": (k1 - k0) / (t1 - t0),
        "process": (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / wall,
        "wake": wake,
        "hz": hz,
        "us_per_thread": run.sampler.stats.us_per_thread_read or float("nan"),
        # a starved sampler ticks less and so costs less: such a figure means nothing
        "noisy": not hz >= 0.95 * HZ or others.cores() > CLEAN_OTHERS,
    }


# --------------------------------------------------------------------------- main


def geomean(ratios: list[float], level: float = 0.9) -> tuple[float, tuple[float, float]]:
    """Geometric mean of per-round ratios with its t interval (on the log ratios): how far
    the rounds let the ratio be read. (A bootstrap interval of the median, used before, was
    too narrow: at 16 rounds of crunch run serially it put bare against itself at +2.0%
    [+0.3, +3.0] in one run and -2.8% [-3.7, -0.2] in another. With random order and this
    interval, 60 rounds of bare against itself gave +0.1% [-0.7, +1.0].)"""
    logs = [math.log(x) for x in ratios]
    m = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(m), (math.nan, math.nan)
    half = t_quantile(0.5 + level / 2, len(logs) - 1) * statistics.stdev(logs) / len(logs) ** 0.5
    return math.exp(m), (math.exp(m - half), math.exp(m + half))


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile (Cornish-Fisher expansion from the normal: within 0.5% of the
    table for df >= 5, the rounds used here)."""
    z = statistics.NormalDist().inv_cdf(p)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def interval_verdict(lo: float, hi: float, target: float) -> str:
    """A verdict the rounds can support: met or not only when the whole 90% interval of
    the ratio lies on one side of the target."""
    if hi <= target:
        return "met"
    if lo > target:
        return "NOT met"
    return "undecided (its 90% interval straddles the target)"


def print_ratio_targets(ratio: dict[str, dict[str, Any]]) -> None:
    for label, res in ratio.items():
        r = res["sampled"]
        target = (
            f" vs <= {TARGET_RATIO}: {'met' if r['median'] <= TARGET_RATIO else 'NOT met'} (median)"
            if "process" in label
            else " (no target)"
        )
        print(
            f"  {label:<24} sampled / unsampled {r['median']:.3f}{target}; without the "
            f"heartbeat {res['no heartbeat']['median']:.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=40, help="throughput rounds (random order)")
    ap.add_argument("--windows", type=int, default=12, help="on/off window pairs, 1 s each")
    ap.add_argument("--quick", action="store_true", help="6 rounds, 5 window pairs")
    ap.add_argument(
        "--ratio-rounds", type=int, default=20, help="rounds of section 0 (sampled / unsampled)"
    )
    ap.add_argument("--ratio-only", action="store_true", help="section 0 alone")
    ap.add_argument(
        "--only", default="", help="only the throughput cases whose label contains this"
    )
    ap.add_argument(
        "--bare-wait",
        choices=("token", "wait", "result"),
        default="token",
        help="how the bare script waits for its results (see BARE)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.windows, args.ratio_rounds = 6, 5, 5
    la = loadavg()
    print(
        f"gilviz overhead, python {sys.version.split()[0]}, "
        f"{len(os.sched_getaffinity(0))} usable cores; load average at start {fmt_load(la)}"
    )

    ratio = sampled_ratio(args.ratio_rounds) if not args.only else {}
    if args.ratio_only:
        print_ratio_targets(ratio)
        return 0
    thr = throughput(args.rounds, args.only, args.bare_wait)
    if args.only:
        return 0

    print(
        f"\n2. CPU share of a long target, {args.windows} on/off pairs of 1 s windows at {HZ:g} Hz"
    )
    print(
        f"{'target':<24} {'off cores':>9} {'on cores':>9} {'lost':>7} {'sd(off)':>8} "
        f"{'sampler':>8} {'clean windows':>14} | work rate lost, 90% CI"
    )
    shares = {}
    for kind, n, label in (
        ("thread", 4, "crunch x4 threads"),
        ("process", 2, "crunch x2 processes"),
    ):
        s = cpu_share(kind, n, args.windows)
        shares[label] = s
        print(
            f"{label:<24} {s['off']:9.3f} {s['on']:9.3f} {s['lost']:+7.2%} {s['sd_off']:8.2%} "
            f"{s['sampler']:8.2%} {s['clean']:>14} | {s['rate_lost']:+.2%} "
            f"[{s['rate_ci'][0]:+.2%}, {s['rate_ci'][1]:+.2%}]" + ("  noisy" if s["noisy"] else "")
        )
        sys.stdout.flush()

    print(f"\n3. sampler CPU during a gilviz run of sleeping worker threads, {HZ:g} Hz")
    print(
        f"{'workers':>7} {'sampler thread':>15} {'in tick()':>10} {'gilviz process':>15} "
        f"{'achieved Hz':>12} {'us/thread':>10} {'wake-only loop':>15}"
    )
    costs = {}
    for n in (16, 64):
        c = sampler_cost(n, 5.0)
        costs[n] = c
        print(
            f"{n:>7} {c['sampler']:14.2%} {c['in_tick']:9.2%} {c['process']:14.2%} "
            f"{c['hz']:12.1f} {c['us_per_thread']:10.1f} {c['wake']:14.2%}"
            + ("  noisy" if c["noisy"] else "")
        )
        sys.stdout.flush()

    lb = loadavg()
    noisy = max(la[0], lb[0]) > NOISY_LOAD
    print(
        f"\nload average at end {fmt_load(lb)}"
        + ("  [NOISY: other load during this run]" if noisy else "")
    )
    print("targets:")
    print_ratio_targets(ratio)
    for label, r in thr.items():
        if label == "tiny tasks serial":  # a diagnostic, not a target: no pool, no GIL
            print(
                f"  {label:<24} gilviz's cost per task {r['us_per_task']:.2f} µs "
                f"({r['nohb'] - 1:+.0%} on a task of this size; diagnostic, no target); "
                f"the stand-in's {r['pad'][2]:.2f} µs"
            )
            continue
        print(
            f"  {label:<24} gilviz {r['gilviz'] - 1:+.1%} (no heartbeat {r['nohb'] - 1:+.1%}; "
            f"bare vs bare {r['aa'] - 1:+.1%}) vs <= +{TARGET_SLOWER:.0%}: "
            f"{interval_verdict(r['ci'][0] - 1, r['ci'][1] - 1, TARGET_SLOWER)} (90% CI "
            f"{r['ci'][0] - 1:+.1%} to {r['ci'][1] - 1:+.1%})"
            + (" (noisy)" if r["noisy"] else "")
            + (f"; the stand-in alone {r['pad'][0] - 1:+.1%}" if "pad" in r else "")
        )
    for label, s in shares.items():
        print(
            f"  {label:<24} CPU share lost {s['lost']:+.2%} vs <= {TARGET_SHARE:.0%}: "
            f"{verdict(s['lost'] <= TARGET_SHARE)}" + (" (noisy)" if s["noisy"] else "")
        )
        print(
            f"  {'':<24} work rate lost to sampling {s['rate_lost']:+.2%} (90% CI "
            f"{s['rate_ci'][0]:+.2%} to {s['rate_ci'][1]:+.2%}; diagnostic: the part of "
            f"section 1's ratio that sampling makes, with the drift cancelled)"
        )
    for n, c in costs.items():
        print(
            f"  sampler, {n} workers      {c['sampler']:.2%} of a core vs <= "
            f"{TARGET_SAMPLER[n]:.1%}: {verdict(c['sampler'] <= TARGET_SAMPLER[n])}"
            + (" (noisy)" if c["noisy"] else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
