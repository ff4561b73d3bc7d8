"""Helpers shared by the benchmarks: load average, the perf futex reference, py-spy dumps.

Nothing here is imported by gilviz itself. The benchmarks run on Linux as root (perf and
py-spy need it) and print what they measured; they never decide pass/fail by exit code.

    PerfFutex    perf record of every futex call (-p our own pid, inherited by the runner
                 and its workers) plus a system-wide sched_wakeup, CLOCK_MONOTONIC stamps
    PySpyPoller  py-spy dump --nonblocking --json every 1/hz s: per thread active / owns_gil
    thread_perf  one thread's GIL / lock / sleep shares from perf's calls over its windows
    thread_spy   one thread's py-spy idle / owns_gil shares over its windows
    OtherLoad    the CPU that processes outside the benchmark's own tree used meanwhile
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOADS = HERE / "workloads.py"

FUTEX_WAIT = 0
#: Syscalls traced: the futex (GIL and other locks) and the sleeps (time.sleep).
TRACED = ("futex", "clock_nanosleep", "nanosleep")
FUTEX_WAIT_BITSET = 9
SLEEP = -1  # FutexCall.cmd of a nanosleep/clock_nanosleep call
NOISY_LOAD = 2.5  # 1-minute load above this, on 2 cores, marks a round as noisy


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


def fmt_load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


def py_spy() -> str | None:
    """The py-spy next to this interpreter (the venv's), else one on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    if local.exists():
        return str(local)
    return shutil.which("py-spy")


# --------------------------------------------------------------------------- intervals


def merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open intervals, sorted, disjoint."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def clip(intervals: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi]


def length(intervals: list[tuple[int, int]]) -> int:
    return sum(b - a for a, b in intervals)


def overlap(a: int, b: int, windows: list[tuple[int, int]]) -> int:
    """Length of [a, b) inside the disjoint sorted ``windows``."""
    total = 0
    for lo, hi in windows:
        if hi <= a:
            continue
        if lo >= b:
            break
        total += min(b, hi) - max(a, lo)
    return total


def inside(t: int, windows: list[tuple[int, int]]) -> bool:
    return any(lo <= t < hi for lo, hi in windows)


# --------------------------------------------------------------------------- other load


def _cpu_busy_jiffies() -> tuple[int, int]:
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts[:8]]
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


def _own_cpu_s() -> float:
    t = os.times()  # children included once waited for: the benchmark's own tree
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """Cores used by processes outside this benchmark's tree between ``__init__`` and
    ``cores()``: /proc/stat's busy time minus our own and our waited-for children's."""

    def __init__(self) -> None:
        self._j0, self._own0 = _cpu_busy_jiffies(), _own_cpu_s()

    def cores(self) -> float:
        j1, own1 = _cpu_busy_jiffies(), _own_cpu_s()
        hz = os.sysconf("SC_CLK_TCK")
        elapsed = (j1[1] - self._j0[1]) / hz / max(1, len(os.sched_getaffinity(0)))
        others = (j1[0] - self._j0[0]) / hz - (own1 - self._own0)
        return max(0.0, others) / max(elapsed, 1e-9)


# --------------------------------------------------------------------------- perf


@dataclass
class FutexCall:
    """One traced call (a futex, or a sleep when ``cmd`` is SLEEP)."""

    tid: int
    enter_ns: int
    exit_ns: int
    uaddr: int
    cmd: int  # futex op & 0x7f: 0 WAIT, 1 WAKE, 9 WAIT_BITSET, ...; SLEEP for a sleep
    wake_ns: int | None = None  # the last sched_wakeup of tid inside the call

    @property
    def is_wait(self) -> bool:
        return self.cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET)

    @property
    def is_sleep(self) -> bool:
        return self.cmd == SLEEP

    @property
    def blocked_ns(self) -> int:
        """Time asleep in the call: enter to wake-up (to exit when no wake-up was seen)."""
        return (self.wake_ns if self.wake_ns is not None else self.exit_ns) - self.enter_ns


@dataclass
class PerfResult:
    calls: dict[int, list[FutexCall]] = field(default_factory=lambda: defaultdict(list))
    first_ns: int | None = None
    last_ns: int | None = None
    lost: str = ""  # perf's warnings about lost events, if any


_LINE = re.compile(r"^\s*(\d+)\s+(\d+)\.(\d+):\s+(\S+):\s?(.*)$")
_UADDR = re.compile(r"uaddr: 0x([0-9a-f]+), op: 0x([0-9a-f]+)")
_WAKEE = re.compile(r"\bpid=(\d+)")


class PerfFutex:
    """An exact record of futex and sleep calls made by this process and all it starts.

    ``perf record -p <our pid>`` inherits into every thread and child created afterwards,
    so the runner (a Popen child) and process-pool workers (its forks) are covered from
    their first instruction. A second, system-wide ``perf record`` of ``sched:sched_wakeup``
    tells when each wait ended (a per-task record misses wake-ups done from interrupts
    and other CPUs): the time from wake-up to the futex's return is runqueue delay, not
    GIL wait. Both stamp CLOCK_MONOTONIC, the clock of gilviz's task events.
    """

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="gilviz-bench-perf-")
        self._procs: list[subprocess.Popen] = []
        self._fds: list[int] = []

    @staticmethod
    def available() -> str | None:
        """None when perf can record tracepoints here, else why not."""
        if shutil.which("perf") is None:
            return "perf is not installed"
        if os.geteuid() != 0:
            return "perf tracepoints need root"
        if not os.path.exists("/sys/kernel/tracing/events/syscalls/sys_enter_futex"):
            return "no syscalls:sys_enter_futex tracepoint (tracefs not mounted?)"
        return None

    def _start(self, name: str, args: list[str]) -> None:
        ctl_r, ctl_w = os.pipe()
        ack_r, ack_w = os.pipe()
        cmd = ["perf", "record", "-q", "-D", "-1", "--control", f"fd:{ctl_r},{ack_w}"]
        cmd += ["-k", "CLOCK_MONOTONIC", "-m", "2048", "-o", f"{self.dir}/{name}.data", *args]
        proc = subprocess.Popen(
            cmd,
            pass_fds=(ctl_r, ack_w),
            stdout=subprocess.DEVNULL,
            stderr=open(f"{self.dir}/{name}.err", "wb"),  # noqa: SIM115 - handed to perf
        )
        os.close(ctl_r)
        os.close(ack_w)
        self._procs.append(proc)
        # Events are open once perf reads its control fd: 'enable' is acked after that.
        os.write(ctl_w, b"enable\n")
        got = b""
        deadline = time.monotonic() + 10
        while b"ack" not in got and time.monotonic() < deadline:
            chunk = os.read(ack_r, 64)
            if not chunk:
                break
            got += chunk
        self._fds += [ack_r, ctl_w]  # closed after perf ends: EOF on its control fd upsets it
        if b"ack" not in got:
            self.stop()
            err = Path(f"{self.dir}/{name}.err").read_text(errors="replace").strip()
            raise RuntimeError(f"perf record did not start: {err[-300:]}")

    def start(self) -> None:
        pid = str(os.getpid())
        events = []
        for call in TRACED:
            events += ["-e", f"syscalls:sys_enter_{call}", "-e", f"syscalls:sys_exit_{call}"]
        self._start("futex", [*events, "-p", pid])
        self._start("wake", ["-a", "-e", "sched:sched_wakeup"])

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs = []
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []

    def _script(self, name: str) -> subprocess.Popen:
        return subprocess.Popen(
            [
                "perf",
                "script",
                "-i",
                f"{self.dir}/{name}.data",
                "-F",
                "tid,time,event,trace",
                "--ns",
            ],
            stdout=subprocess.PIPE,
            stderr=open(f"{self.dir}/{name}.script.err", "wb"),  # noqa: SIM115
            text=True,
        )

    def parse(self, tids: set[int]) -> PerfResult:
        """Futex calls of ``tids``, each with its last wake-up inside it."""
        res = PerfResult()
        wakes: dict[int, list[int]] = defaultdict(list)
        proc = self._script("wake")
        assert proc.stdout is not None
        for line in proc.stdout:
            m = _LINE.match(line)
            if not m:
                continue
            w = _WAKEE.search(m.group(5))
            if w and int(w.group(1)) in tids:
                wakes[int(w.group(1))].append(int(m.group(2)) * 10**9 + int(m.group(3)))
        proc.wait()
        open_calls: dict[int, tuple[int, int, int]] = {}
        proc = self._script("futex")
        assert proc.stdout is not None
        for line in proc.stdout:
            m = _LINE.match(line)
            if not m:
                continue
            t = int(m.group(2)) * 10**9 + int(m.group(3))
            if res.first_ns is None:
                res.first_ns = t
            res.last_ns = t
            tid = int(m.group(1))
            if tid not in tids:
                continue
            event = m.group(4)
            _, _, what = event.partition(":sys_")
            kind, _, call = what.partition("_")
            if kind == "enter":
                if call == "futex":
                    u = _UADDR.search(m.group(5))
                    if u:
                        open_calls[tid] = (t, int(u.group(1), 16), int(u.group(2), 16) & 0x7F)
                else:
                    open_calls[tid] = (t, 0, SLEEP)
            elif kind == "exit" and tid in open_calls:
                t0, uaddr, cmd = open_calls.pop(tid)
                res.calls[tid].append(FutexCall(tid, t0, t, uaddr, cmd))
        proc.wait()
        for tid, calls in res.calls.items():
            ws = wakes.get(tid, [])
            j = 0
            for c in calls:  # both sorted by time
                while j < len(ws) and ws[j] <= c.enter_ns:
                    j += 1
                k = j
                while k < len(ws) and ws[k] <= c.exit_ns:
                    c.wake_ns = ws[k]
                    k += 1
                j = k
        lost = []
        for name in ("futex", "wake"):
            for suffix in (".err", ".script.err"):
                p = Path(f"{self.dir}/{name}{suffix}")
                if p.exists():
                    lost += [
                        ln
                        for ln in p.read_text(errors="replace").splitlines()
                        if "LOST" in ln.upper()
                    ]
        res.lost = "; ".join(lost)
        return res

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True)
class PerfShares:
    """Shares of a thread's windows it spent asleep in each kind of call, from perf."""

    blk: float  # asleep in a GIL futex wait: enter to wake-up (gilviz's gil_wait)
    ret: float  # in a GIL futex wait, enter to return: adds the runqueue after the wake-up
    lock: float  # asleep in any other futex wait
    sleep: float  # asleep in nanosleep / clock_nanosleep


def thread_perf(
    calls: list[FutexCall], windows: list[tuple[int, int]], gil: tuple[int, int]
) -> PerfShares | None:
    """One thread's perf shares over the disjoint sorted ``windows``; a GIL wait is a
    futex WAIT/WAIT_BITSET on an address in ``gil`` = [start, end) of its process's
    ``_PyRuntime`` (``gilsym.locate_gil``). None when the windows are empty."""
    total = length(windows)
    if total <= 0:
        return None
    blk = ret = lock = sleep = 0
    for c in calls:
        asleep = overlap(c.enter_ns, c.enter_ns + c.blocked_ns, windows)
        if c.is_sleep:
            sleep += asleep
        elif c.is_wait and gil[0] <= c.uaddr < gil[1]:
            blk += asleep
            ret += overlap(c.enter_ns, c.exit_ns, windows)
        elif c.is_wait:
            lock += asleep
    return PerfShares(blk / total, ret / total, lock / total, sleep / total)


# --------------------------------------------------------------------------- py-spy


@dataclass
class SpySample:
    t_ns: int
    active: bool
    owns_gil: bool


class PySpyPoller(threading.Thread):
    """Runs ``py-spy dump --nonblocking --json`` on each pid every 1/hz s (never pausing
    the target); keeps, per thread id, (time, active, owns_gil) of every dump."""

    def __init__(self, hz: float = 8.0) -> None:
        super().__init__(name="bench-py-spy", daemon=True)
        self.exe = py_spy()
        self.hz = hz
        self.pids: set[int] = set()
        self.samples: dict[int, list[SpySample]] = defaultdict(list)
        self.errors = 0
        self.dumps = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        if self.exe is None:
            return
        env = dict(os.environ, RUST_BACKTRACE="0")
        while not self._stop_event.wait(1 / self.hz):
            for pid in list(self.pids):
                t = time.monotonic_ns()
                try:
                    out = subprocess.run(
                        [self.exe, "dump", "--pid", str(pid), "--nonblocking", "--json"],
                        capture_output=True,
                        timeout=5,
                        env=env,
                    )
                    threads = json.loads(out.stdout) if out.returncode == 0 else None
                except (subprocess.TimeoutExpired, ValueError, OSError):
                    threads = None
                if not threads:
                    self.errors += 1
                    continue
                self.dumps += 1
                for th in threads:
                    tid = th.get("os_thread_id")
                    if tid is not None:
                        self.samples[tid].append(
                            SpySample(t, bool(th.get("active")), bool(th.get("owns_gil")))
                        )

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


def thread_spy(
    samples: list[SpySample], windows: list[tuple[int, int]]
) -> tuple[float | None, float | None, int]:
    """(idle share, owns-GIL share, dumps) of one thread's py-spy dumps inside ``windows``."""
    dumps = [s for s in samples if inside(s.t_ns, windows)]
    if not dumps:
        return None, None, 0
    n = len(dumps)
    return sum(not s.active for s in dumps) / n, sum(s.owns_gil for s in dumps) / n, n
