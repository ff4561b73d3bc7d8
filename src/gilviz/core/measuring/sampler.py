"""The sampler: what every worker thread and every core did, tick by tick, seen from outside.

Role in the flow::

    runner (child process) --pids/tids--> sampler --ThreadSample/CoreSample--> model --> views

The sampler runs in the gilviz process, never in the measured one. At each tick (default
50 Hz, jittered) it reads each target thread's ``/proc`` files (:mod:`.procfs`) and turns
the change since the previous tick into shares of the interval:

- ``running``  = delta of schedstat run time / delta t (exact, from the scheduler),
- ``runnable`` = delta of schedstat runqueue wait / delta t (ready, waiting for a core),
- the rest of the interval the thread was blocked. That remainder goes whole to what the
  thread was blocked in at the sample: ``gil_wait`` when it sits in a futex whose address
  lies inside the interpreter's ``_PyRuntime`` (:mod:`.gilsym`), ``io_wait`` for
  read/recv/poll/select/sleep-family calls, ``lock_wait`` for any other futex or sync call.
  If the thread was on a CPU or a runqueue at the sample (state letter R), the remainder
  goes to what the *previous* blocked sample of that thread saw (``lock_wait`` if none yet):
  the thread most likely woke from the same kind of wait it was last seen in.

Point samples of the blocked cause, taken at jittered instants, estimate in the long run
how blocked time divides between causes (the jitter keeps them from locking onto the 5 ms
GIL switch interval); running/runnable never depend on the state letter: under heavy
wake-up churn a thread shows R in most samples while it ran or queued far less of the time
(docs/measurement.md, "From two readings to shares of the interval").

A thread's first tick only primes it (no delta yet): it gets no sample. Threads that
vanish are dropped silently. Each reading is stamped with the monotonic clock right
before its schedstat read, so ``dt_ns`` is that thread's own interval.

Optional extra (CPython 3.11 to 3.15): which thread holds the GIL, read from the target's
memory through ``/proc/PID/mem`` at offsets calibrated per interpreter
(:func:`gilsym.calibrate_gil_holder`) -> ``ThreadSample.gil_holder``; None elsewhere. From
3.12 the same read walks the process's list of interpreters: each subinterpreter with its
own GIL has its holder, and its GIL's address, whose futex is then a GIL wait too. Read
again only for a process with a sampled thread that ran since the last read (one that did
not cannot have taken or released a GIL).

``idle`` is never produced here: only the model knows whether a worker had a task.

Elsewhere than Linux (or when forced), :class:`PsutilSampler` gives per-thread CPU time
only: ``shares`` None, ``state`` "n/a".

Public API::

    make_sampler(force_fallback=False, gil_holder=True) -> ProcSampler | PsutilSampler
    sampler.set_targets(refs)                     # any thread, any time
    sampler.tick(now_ns=None) -> (list[ThreadSample], CoreSample | None)
    sampler.gil_locations() / .gil_holder_status() / .stats / .close()
    SamplerLoop(sampler, hz=50.0, on_tick=cb, jitter=0.3).start() / .stop() / .achieved_hz
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import gilsym, procfs
from .samples import CORE_PERIOD_S, STATES, CoreSample, ThreadRef, ThreadSample

__all__ = [
    "SamplerStats",
    "dominant_state",
    "ProcSampler",
    "PsutilSampler",
    "Sampler",
    "SamplerLoop",
    "make_sampler",
    "proc_sampling_available",
    "shares_from_readings",
    "blocked_cause",
]

log = logging.getLogger(__name__)

# SamplerLoop: ticks read at once; their readings are parsed and delivered every BATCH_S.
BATCH_S = 0.1
CORE_PERIOD_NS = int(CORE_PERIOD_S * 1e9)
# How long to wait before retrying a process whose GIL could not be located (it may not
# have mapped libpython yet, or be gone); a success is cached for the process's life.
_GIL_RETRY_NS = 2_000_000_000


# --------------------------------------------------------------------------- pure helpers


def blocked_cause(
    reading: procfs.ThreadReading,
    gil: tuple[int, int] | None,
    machine: str | None = None,
    more_gils: tuple[tuple[int, int], ...] = (),
) -> tuple[str | None, str | None]:
    """``(cause, syscall_name)`` of a reading: cause is gil_wait/io_wait/lock_wait when the
    thread was blocked (S/D), None when it was on a CPU or runqueue. ``more_gils``: the
    GILs of the process's subinterpreters (3.12+), besides the main one in ``gil``."""
    if not reading.blocked:
        return None, None
    nr = reading.syscall_nr
    name: str | None = None
    if nr is not None and nr >= 0:
        name = procfs.syscall_name(nr, machine) or f"syscall_{nr}"
    cause = procfs.classify_blocked(name, reading.syscall_arg0, gil, reading.letter, more_gils)
    return cause, name


def shares_from_readings(
    prev: procfs.ThreadReading, cur: procfs.ThreadReading, blocked_as: str
) -> dict[str, float] | None:
    """Shares of (prev.t_ns, cur.t_ns] from two readings; None if the interval is empty
    or the counters went backwards (a reused thread id).

    running/runnable come from schedstat deltas; the blocked remainder (never negative)
    goes to ``blocked_as``. When the counters exceed the wall interval (schedstat is
    updated at scheduler ticks, so it can lag one interval and lead the next), running
    and runnable are scaled to sum to 1.
    """
    dt = cur.t_ns - prev.t_ns
    d_run = cur.run_ns - prev.run_ns
    d_wait = cur.wait_ns - prev.wait_ns
    if dt <= 0 or d_run < 0 or d_wait < 0:
        return None
    run = d_run / dt
    rq = d_wait / dt
    busy = run + rq
    if busy > 1.0:
        run, rq, rest = run / busy, rq / busy, 0.0
    else:
        rest = 1.0 - busy
    shares = {"running": run, "runnable": rq, "gil_wait": 0.0, "io_wait": 0.0, "lock_wait": 0.0}
    shares[blocked_as] += rest
    return shares


def _gil(loc: gilsym.GilLocation | None) -> tuple[int, int] | None:
    return (loc.start, loc.end) if loc is not None else None


# The GILs of a process: the main one, then its subinterpreters' (a new tuple whenever they
# change, so that a still-blocked thread's cause is worked out again only then).
_Gils = tuple[tuple[int, int] | None, tuple[tuple[int, int], ...]]
_NO_GILS: _Gils = (None, ())


def still_blocked_shares(blocked_as: str) -> dict[str, float]:
    """What shares_from_readings gives for a thread that stayed blocked the whole interval
    (its counters did not move): all of it ``blocked_as``. The sampler's commonest case,
    computed without the arithmetic."""
    shares = {"running": 0.0, "runnable": 0.0, "gil_wait": 0.0, "io_wait": 0.0, "lock_wait": 0.0}
    shares[blocked_as] = 1.0
    return shares


def excess_ns(prev: procfs.ThreadReading, cur: procfs.ThreadReading) -> tuple[int, int]:
    """Run and runqueue nanoseconds the counters moved beyond the interval's length, split
    in proportion (0, 0 when they fit): the catch-up of earlier intervals' lag."""
    dt = cur.t_ns - prev.t_ns
    d_run = cur.run_ns - prev.run_ns
    d_wait = cur.wait_ns - prev.wait_ns
    over = d_run + d_wait - dt
    if dt <= 0 or d_run < 0 or d_wait < 0 or over <= 0:
        return 0, 0
    ex_run = over * d_run // (d_run + d_wait)
    return ex_run, over - ex_run


def dominant_state(shares: dict[str, float]) -> str:
    """The state with the largest share (ties broken by STATES order)."""
    best, best_v = "running", -1.0
    for s in STATES:
        v = shares.get(s, 0.0)
        if v > best_v:
            best, best_v = s, v
    return best


def proc_sampling_available(proc_root: str = "/proc") -> bool:
    """True when this kernel exposes per-thread schedstat and syscall files we can read."""
    try:
        tid = threading.get_native_id()
        base = f"{proc_root}/self/task/{tid}/"
        with open(base + "schedstat", "rb") as f:
            procfs.parse_schedstat(f.read())
        with open(base + "syscall", "rb") as f:
            f.read()
        with open(f"{proc_root}/stat", "rb") as f:
            f.read(64)
        return True
    except (OSError, ValueError, IndexError):
        return False


def gils_for(gils: _Gils, machine: str | None) -> tuple[Any, ...]:
    """blocked_cause's arguments after the reading, from a process's GILs."""
    return gils[0], machine, gils[1]


# --------------------------------------------------------------------------- GIL holder


class _MemReader:
    """Reads words of another process's memory through ``/proc/PID/mem`` (needs ptrace
    permission: root, or the target is our descendant under Yama scope 1)."""

    def __init__(self, pid: int, proc_root: str = "/proc") -> None:
        self.fd = os.open(f"{proc_root}/{pid}/mem", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def word(self, addr: int) -> int | None:
        return self.words(addr, (0,))[0]

    def words(self, addr: int, offsets: tuple[int, ...]) -> list[int | None]:
        """The words at ``addr + offset`` for each offset, in one read (the offsets are a
        few hundred bytes apart: each read of another process's memory costs a syscall
        that, in a sampler woken every 20 ms, runs cold)."""
        n = max(offsets) + 8
        try:
            data = os.pread(self.fd, n, addr)
        except (OSError, OverflowError):
            return [None] * len(offsets)
        # The target runs on this machine: its words have our byte order.
        return [
            int.from_bytes(data[o : o + 8], sys.byteorder) if len(data) >= o + 8 else None
            for o in offsets
        ]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class _HolderCalibrator:
    """Runs :func:`gilsym.calibrate_gil_holder` once per interpreter, off the sampling
    thread (it starts a short-lived process: ~30 ms that must not stall a tick)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[tuple[Any, int], gilsym.GilHolderOffsets | str] = {}
        self._running: set[tuple[Any, int]] = set()

    def get(
        self, exe: str, size: int, root: str | None = None
    ) -> gilsym.GilHolderOffsets | str | None:
        """The offsets, a reason they are unavailable, or None while still calibrating.
        ``root``: the target's root when it is not ours (``exe`` is then a path in it)."""
        # Keyed by the file itself, not its path: the path goes through /proc/PID/root, so
        # every worker of a pool would otherwise start its own calibration at once.
        try:
            st = os.stat(exe if root is None else root + exe)
            key: tuple[Any, int] = ((st.st_dev, st.st_ino), size)
        except OSError:
            key = (exe, size)
        with self._lock:
            if key in self._results:
                return self._results[key]
            if key in self._running:
                return None
            self._running.add(key)
        threading.Thread(
            target=self._run,
            args=(key, exe, size, root),
            name="gilviz-gil-calibrate",
            daemon=True,
        ).start()
        return None

    def _run(self, key: tuple[Any, int], exe: str, size: int, root: str | None) -> None:
        try:
            res: gilsym.GilHolderOffsets | str = gilsym.calibrate_gil_holder(exe, size, root=root)
        except (gilsym.GilNotFound, OSError) as exc:
            res = str(exc)
        with self._lock:
            self._results[key] = res
            self._running.discard(key)


_CALIBRATOR = _HolderCalibrator()


# --------------------------------------------------------------------------- /proc sampler


@dataclass(slots=True)
class _Tracked:
    ref: ThreadRef
    files: procfs.ThreadFiles | None
    prev: procfs.ThreadReading | None = None
    last_blocked: str | None = None  # cause of the last blocked sample (for R samples)
    last_blocked_at: procfs.ThreadReading | None = None  # ... and that sample's reading
    last_cause: tuple[str | None, str | None] = (None, None)  # blocked_cause of prev...
    last_gil: object = None  # ... with this GIL location (it may be found later)
    still: dict[str, float] | None = None  # the shares of the last still-blocked sample


@dataclass(slots=True)
class _ProcInfo:
    gil: gilsym.GilLocation | None = None
    reason: str | None = None  # why gil is None
    retry_at_ns: int = 0
    machine: str | None = None
    # Optional extra: which thread holds the GIL, read from the target's memory.
    holder: gilsym.GilHolderOffsets | None = None
    holder_reason: str | None = None  # why the holder cannot be read (None: not yet known)
    exe: str | None = None
    root: str | None = None  # the process's root folder, when it is not ours (a chroot)
    mem: _MemReader | None = None
    holder_read: bool = False  # the holders were read at this tick
    holder_tids: frozenset[int] = frozenset()  # kernel tids holding a GIL (one per GIL)
    gils: _Gils = _NO_GILS  # the main GIL's range and the subinterpreters' GILs'
    sub_gils: tuple[tuple[int, int], ...] = ()


@dataclass(slots=True)
class _Poll:
    """What one :meth:`ProcSampler.poll` read, for :meth:`ProcSampler.finish`."""

    t_ns: int
    procs: dict[int, tuple[Any, ...]]  # pid -> (GILs, machine, holders read, their tids)
    reads: list[tuple[_Tracked, procfs.RawThread | int]]  # int: still blocked, at that time
    threads: int  # threads read, the vanished ones included
    stat: bytes | None  # /proc/stat


@dataclass(slots=True)
class SamplerStats:
    """Counters for reports ("/proc sampling, 50 Hz, 1,204 samples") and cost checks."""

    ticks: int = 0
    samples: int = 0
    tick_ns_total: int = 0  # CPU-side wall time spent inside tick() (poll() + finish())
    threads_read: int = 0

    @property
    def us_per_thread_read(self) -> float | None:
        return self.tick_ns_total / self.threads_read / 1000 if self.threads_read else None


class ProcSampler:
    """Samples target threads from Linux ``/proc`` (see the module docstring for the
    method). ``set_targets`` may be called from any thread; ``tick`` from one thread."""

    method = "/proc sampling"

    def __init__(
        self,
        proc_root: str = "/proc",
        cpus: list[int] | None = None,
        gil_holder: bool = True,
        gil_holder_offsets: gilsym.GilHolderOffsets | None = None,
        core_period_ns: int = CORE_PERIOD_NS,
    ) -> None:
        self._proc_root = proc_root
        self._lock = threading.Lock()
        self._pending: list[ThreadRef] | None = None
        self._tracked: dict[tuple[int, int], _Tracked] = {}
        self._pids: set[int] | None = set()  # pids of _tracked; None: to be worked out
        self._procs: dict[int, _ProcInfo] = {}
        self._cpus = cpus if cpus is not None else procfs.usable_cpus()
        try:
            self._stat: procfs.ProcStatReader | None = procfs.ProcStatReader(
                f"{proc_root}/stat", self._cpus
            )
        except OSError:
            self._stat = None
        self._cpus_set = set(self._cpus)
        # /proc/stat is read at the first tick and then once core_period_ns has passed
        self._core_period_ns = core_period_ns
        self._core_due: int | None = None
        self._prev_cpu: dict[int, procfs.CpuTimes] | None = None
        self._prev_cpu_t: int | None = None
        self._cpu_last: dict[int, float] = {}
        # gil_holder: read which thread holds each GIL (CPython 3.11+; offsets measured per
        # interpreter by calibration unless given). Off, or unsupported: gil_holder None.
        self._holder_on = gil_holder or gil_holder_offsets is not None
        self._holder_offsets = gil_holder_offsets
        self.stats = SamplerStats()

    # -- targets ------------------------------------------------------------------------

    def set_targets(self, refs: Iterable[ThreadRef]) -> None:
        """Replace the set of threads to sample. Thread-safe: applied at the next tick."""
        with self._lock:
            self._pending = list(refs)

    def _apply_targets(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        wanted = {(r.pid, r.tid): r for r in pending}
        for key in list(self._tracked):
            if key not in wanted:
                self._drop(key)
        for key, ref in wanted.items():
            tr = self._tracked.get(key)
            if tr is None:
                try:
                    files = procfs.ThreadFiles(ref.pid, ref.tid, self._proc_root)
                except OSError:
                    continue  # already gone (or never readable): silently not sampled
                self._tracked[key] = _Tracked(ref, files)
            elif tr.ref != ref:
                tr.ref = ref  # same thread, new worker id
        live_pids = self._pids = {pid for pid, _ in self._tracked}
        for pid in list(self._procs):
            if pid not in live_pids:
                info = self._procs.pop(pid)
                if info.mem is not None:
                    info.mem.close()

    def _drop(self, key: tuple[int, int]) -> None:
        self._pids = None  # the sampled pids, worked out again at the next poll
        tr = self._tracked.pop(key, None)
        if tr is not None and tr.files is not None:
            tr.files.close()

    # -- GIL location -------------------------------------------------------------------

    def _proc(self, pid: int, now: int) -> _ProcInfo:
        info = self._procs.get(pid)
        if info is None:
            info = self._procs[pid] = _ProcInfo()
        if info.gil is None and now >= info.retry_at_ns:
            try:
                info.gil = gilsym.locate_gil(pid, self._proc_root)
                info.machine = info.gil.machine
                info.reason = None
                info.gils = (_gil(info.gil), info.sub_gils)
            except (gilsym.GilNotFound, OSError) as exc:  # OSError: it ended meanwhile
                info.reason = str(exc)
                info.retry_at_ns = now + _GIL_RETRY_NS
        return info

    def gil_locations(self) -> dict[int, gilsym.GilLocation | str]:
        """Per sampled pid: where its GIL was found, or why it was not (for reports)."""
        return {
            pid: (info.gil if info.gil is not None else (info.reason or "not located yet"))
            for pid, info in list(self._procs.items())  # a copy: tick() may run meanwhile
        }

    def _read_holder(self, pid: int, info: _ProcInfo) -> None:
        """Refresh ``info.holder_tids`` (and the subinterpreters' GILs) from the target's
        memory (optional extra)."""
        info.holder_read = False
        info.holder_tids = frozenset()
        if info.gil is None or info.holder_reason is not None:
            return
        off = self._holder_offsets or info.holder
        if off is None:
            if info.exe is None:
                try:
                    info.exe, info.root = gilsym.exe_in_root(pid, self._proc_root)
                except OSError as exc:
                    info.holder_reason = f"cannot read /proc/{pid}/exe: {exc.strerror}"
                    return
            res = _CALIBRATOR.get(info.exe, info.gil.end - info.gil.start, info.root)
            if res is None:
                return  # calibrating in the background
            if isinstance(res, str):
                info.holder_reason = res
                return
            off = info.holder = res
        if info.mem is None:
            try:
                info.mem = _MemReader(pid, self._proc_root)
            except OSError as exc:
                info.holder_reason = f"cannot read /proc/{pid}/mem: {exc.strerror}"
                return
        got = gilsym.read_gil_state(info.mem.words, info.gil.start, off)
        if got is None:
            return  # unreadable now (exiting?): unknown, not "nobody"
        info.holder_read = True
        info.holder_tids = got.holders
        if got.sub_gils != info.sub_gils:
            info.sub_gils = got.sub_gils
            info.gils = (_gil(info.gil), got.sub_gils)

    def gil_holder_status(self) -> dict[int, str]:
        """Per sampled pid: "reading", "calibrating", "off" or why the holder is unknown."""
        out = {}
        for pid, info in list(self._procs.items()):
            if not self._holder_on:
                out[pid] = "off"
            elif info.holder_reason is not None:
                out[pid] = info.holder_reason
            elif info.holder is not None or self._holder_offsets is not None:
                out[pid] = "reading"
            else:
                out[pid] = "calibrating"
        return out

    # -- sampling -----------------------------------------------------------------------

    def tick(self, now_ns: int | None = None) -> tuple[list[ThreadSample], CoreSample | None]:
        """Read every target once. Returns a sample per thread that has a previous reading
        (a thread's first tick only primes it) and the cores' busy shares since the last
        tick (None on the first). ``now_ns`` pins the timestamp of every reading (tests);
        by default each thread is stamped right before its own schedstat read."""
        return self.finish(self.poll(now_ns))

    def poll(self, now_ns: int | None = None) -> _Poll:
        """The reading half of :meth:`tick`: every file read now, as little Python as
        possible. :meth:`finish` turns polls into samples later, in the order polled."""
        t0 = time.perf_counter_ns()
        if (
            self._pending is not None
        ):  # new targets (read unlocked: applied at this tick or the next)
            self._apply_targets()
        mono = time.monotonic_ns() if now_ns is None else now_ns
        reads: list[tuple[_Tracked, procfs.RawThread | int]] = []
        gone: list[tuple[int, int]] = []
        moved: set[int] = set()  # pids with a thread read whole (not still blocked)
        for key, tr in self._tracked.items():
            files = tr.files
            if files is None:
                continue
            polled = files.poll(now_ns)
            if polled is None:
                gone.append(key)
            else:
                reads.append((tr, polled))
                if polled.__class__ is not int:
                    moved.add(key[0])
        for key in gone:
            self._drop(key)
        procs: dict[int, tuple[Any, ...]] = {}
        pids = self._pids
        if pids is None:
            pids = self._pids = {pid for pid, _ in self._tracked}
        for pid in pids:
            info = self._proc(pid, mono)
            # The holder is read after the threads, and only if one of them has been on a
            # CPU since its last reading: a thread that has not run cannot have taken or
            # let go of the GIL, so for every sampled thread the last answer still holds.
            if self._holder_on and (pid in moved or not info.holder_read):
                self._read_holder(pid, info)
            procs[pid] = (info.gils, info.machine, info.holder_read, info.holder_tids)
        stat = None
        if self._stat is not None and (self._core_due is None or mono >= self._core_due):
            self._core_due = mono + self._core_period_ns
            with contextlib.suppress(OSError):
                stat = self._stat.read_raw()
        self.stats.tick_ns_total += time.perf_counter_ns() - t0
        return _Poll(mono, procs, reads, len(reads) + len(gone), stat)

    def finish(self, poll: _Poll) -> tuple[list[ThreadSample], CoreSample | None]:
        """The parsing half of :meth:`tick`, for a :meth:`poll` (polls in the order taken)."""
        t0 = time.perf_counter_ns()
        out: list[ThreadSample] = []
        procs = poll.procs
        for tr, polled in poll.reads:
            files: procfs.ThreadFiles = tr.files  # type: ignore[assignment]  # poll() read them
            ref = tr.ref
            gils, machine, holder_read, holder_tids = procs[ref.pid]
            prev = tr.prev
            if polled.__class__ is int and prev is not None and files.last is prev:
                # Still blocked in the same wait since the last reading (the commonest
                # case by far): the reading stands at its new time, same cause, all of the
                # interval blocked, no excess. What parse() and the general path give, for
                # a third of the cost: no new reading, and the same shares dict as the
                # last such sample (samples are never changed once made).
                dt = polled - prev.t_ns
                prev.t_ns = polled
                if dt <= 0:
                    continue
                if tr.last_gil is not gils:  # a GIL was found since: classify again
                    cause, sc_name = tr.last_cause = blocked_cause(prev, *gils_for(gils, machine))
                    tr.last_gil = gils
                    if cause is not None:
                        tr.last_blocked = cause
                        tr.last_blocked_at = prev
                cause, sc_name = tr.last_cause
                state = cause or tr.last_blocked or "lock_wait"
                shares = tr.still
                if shares is None or shares[state] != 1.0:
                    shares = tr.still = still_blocked_shares(state)
                cur = prev
                ex_run = ex_wait = 0
            else:
                cur = files.parse(polled)
                if cur is None:  # gone (a zombie, the leader's line): drop it
                    key = (ref.pid, ref.tid)
                    if self._tracked.get(key) is tr:
                        self._drop(key)
                    continue
                tr.prev = cur
                if tr.last_gil is not gils and tr.last_blocked_at is not None:
                    # A GIL was found since that wait was seen (a subinterpreter's, say):
                    # what R samples inherit from it is worked out again.
                    tr.last_blocked = blocked_cause(tr.last_blocked_at, *gils_for(gils, machine))[0]
                cause, sc_name = tr.last_cause = blocked_cause(cur, *gils_for(gils, machine))
                tr.last_gil = gils
                if cause is not None:
                    tr.last_blocked = cause
                    tr.last_blocked_at = cur
                if prev is None:
                    continue
                dt = cur.t_ns - prev.t_ns
                shares = shares_from_readings(prev, cur, cause or tr.last_blocked or "lock_wait")
                if shares is None:
                    continue
                state = dominant_state(shares)
                ex_run, ex_wait = excess_ns(prev, cur)
            holder = (ref.tid in holder_tids) if holder_read else None
            # Positional (a third of the keyword call's cost), in ThreadSample's field order:
            # wid, t_ns, dt_ns, shares, state, cpu_ns, processor, letter, syscall,
            # gil_holder, excess_run_ns, excess_wait_ns.
            out.append(
                ThreadSample(
                    ref.wid,
                    cur.t_ns,
                    dt,
                    shares,
                    state,
                    cur.run_ns,
                    cur.processor,
                    cur.letter,
                    sc_name,
                    holder,
                    ex_run,
                    ex_wait,
                )  # fmt: skip
            )
        core = self._core_sample(poll.t_ns, poll.stat)
        st = self.stats
        st.ticks += 1
        st.samples += len(out)
        st.threads_read += poll.threads
        st.tick_ns_total += time.perf_counter_ns() - t0
        return out, core

    def _core_sample(self, t: int, data: bytes | None) -> CoreSample | None:
        """Busy share of each usable core since the previous read of /proc/stat (None at a
        tick that did not read it: it is read every CORE_PERIOD_S).

        /proc/stat counts in USER_HZ ticks (10 ms): a 100 ms window holds about ten of
        them. When no tick at all has been counted for a core since its last value (reads
        closer than 10 ms, with a shorter period), its baseline is kept and its last
        measured value is repeated: that value is the measurement of the most recent window
        that has data, never a made-up 0. A core with no counted tick yet is absent from
        ``busy``.
        """
        if data is None:
            return None
        cur = procfs.parse_proc_stat(data, self._cpus_set)
        prev_t, self._prev_cpu_t = self._prev_cpu_t, t
        base = self._prev_cpu
        if base is None:
            self._prev_cpu = dict(cur)
            return None
        busy: dict[int, float] = {}
        for cpu, c in cur.items():
            p = base.get(cpu)
            if p is None:
                base[cpu] = c
                continue
            d_total = c.total - p.total
            if d_total > 0:
                value = min(1.0, max(0.0, (c.busy - p.busy) / d_total))
                self._cpu_last[cpu] = value
                base[cpu] = c
                busy[cpu] = value
            elif cpu in self._cpu_last:
                busy[cpu] = self._cpu_last[cpu]
        if prev_t is None or t <= prev_t:
            return None
        return CoreSample(t_ns=t, dt_ns=t - prev_t, busy=busy)

    def close(self) -> None:
        for key in list(self._tracked):
            self._drop(key)
        for info in self._procs.values():
            if info.mem is not None:
                info.mem.close()
        self._procs.clear()
        if self._stat is not None:
            self._stat.close()
            self._stat = None

    def __del__(self) -> None:  # a safety net for owners that forget close()
        with contextlib.suppress(Exception):
            self.close()


# --------------------------------------------------------------------------- psutil fallback


class PsutilSampler:
    """Per-thread CPU time only, from psutil (macOS, Windows, or Linux when forced).

    No state split is possible without per-thread scheduler and syscall data: ``shares``
    is None, ``state`` "n/a", ``processor`` None. Cores come from
    ``psutil.cpu_percent(percpu=True)``, primed at construction (its first call returns 0),
    every CORE_PERIOD_S as with /proc.
    """

    method = "psutil (per-thread CPU only)"

    def __init__(self) -> None:
        import psutil  # a dependency of gilviz, imported here to keep /proc users lean

        self._psutil = psutil
        self._lock = threading.Lock()
        self._refs: list[ThreadRef] = []
        self._procs: dict[int, object] = {}
        self._prev: dict[tuple[int, int], tuple[int, int]] = {}  # key -> (t_ns, cpu_ns)
        psutil.cpu_percent(percpu=True)  # prime: the first call measures nothing
        self._prev_core_t = time.monotonic_ns()
        try:
            self._cpus = sorted(psutil.Process().cpu_affinity())
        except (AttributeError, psutil.Error, OSError):
            self._cpus = list(range(psutil.cpu_count() or 1))
        self.stats = SamplerStats()

    def set_targets(self, refs: Iterable[ThreadRef]) -> None:
        with self._lock:
            self._refs = list(refs)

    def tick(self, now_ns: int | None = None) -> tuple[list[ThreadSample], CoreSample | None]:
        t0 = time.perf_counter_ns()
        psutil = self._psutil
        t = time.monotonic_ns() if now_ns is None else now_ns
        with self._lock:
            refs = list(self._refs)
        by_pid: dict[int, list[ThreadRef]] = {}
        for r in refs:
            by_pid.setdefault(r.pid, []).append(r)
        out: list[ThreadSample] = []
        seen: set[tuple[int, int]] = set()
        for pid, prefs in by_pid.items():
            proc = self._procs.get(pid)
            try:
                if proc is None:
                    proc = self._procs[pid] = psutil.Process(pid)
                threads = {th.id: th for th in proc.threads()}
            except (psutil.Error, OSError):
                self._procs.pop(pid, None)
                continue
            for r in prefs:
                th = threads.get(r.tid)
                if th is None:
                    continue  # vanished: dropped silently
                key = (r.pid, r.tid)
                seen.add(key)
                cpu_ns = int((th.user_time + th.system_time) * 1e9)
                prev = self._prev.get(key)
                self._prev[key] = (t, cpu_ns)
                if prev is None or t <= prev[0]:
                    continue
                out.append(
                    ThreadSample(
                        wid=r.wid,
                        t_ns=t,
                        dt_ns=t - prev[0],
                        shares=None,
                        state="n/a",
                        cpu_ns=cpu_ns,
                        processor=None,
                        letter="?",
                        syscall=None,
                    )
                )
        for key in [k for k in self._prev if k not in seen]:
            del self._prev[key]
        for pid in [p for p in self._procs if p not in by_pid]:
            del self._procs[pid]
        core = None
        if t >= self._prev_core_t + CORE_PERIOD_NS:  # as often as the /proc sampler
            pct = psutil.cpu_percent(percpu=True)
            busy = {c: pct[c] / 100.0 for c in self._cpus if c < len(pct)}
            core = CoreSample(t_ns=t, dt_ns=t - self._prev_core_t, busy=busy)
            self._prev_core_t = t
        st = self.stats
        st.ticks += 1
        st.samples += len(out)
        st.threads_read += len(refs)
        st.tick_ns_total += time.perf_counter_ns() - t0
        return out, core

    def gil_locations(self) -> dict[int, gilsym.GilLocation | str]:
        return {}

    def close(self) -> None:
        self._procs.clear()


Sampler = ProcSampler | PsutilSampler


def make_sampler(force_fallback: bool = False, gil_holder: bool = True) -> Sampler:
    """The best sampler this platform allows: :class:`ProcSampler` when
    ``/proc/self/task/<tid>/{schedstat,syscall}`` are readable, else :class:`PsutilSampler`
    (also when ``force_fallback``)."""
    if not force_fallback and proc_sampling_available():
        return ProcSampler(gil_holder=gil_holder)
    return PsutilSampler()


# --------------------------------------------------------------------------- loop


@dataclass(slots=True)
class _LoopTimes:
    first_ns: int | None = None
    last_ns: int | None = None


class SamplerLoop(threading.Thread):
    """Ticks a sampler at ``hz`` from a daemon thread and hands each result to ``on_tick``.

    Each interval is drawn uniformly in ``[1 - jitter, 1 + jitter] / hz``: a fixed 10 or 20 ms
    period aliases with CPython's 5 ms switch interval and would always catch threads at the
    same phase of a GIL handoff. Deadlines are kept on an absolute schedule (no drift); when
    the loop falls behind by more than a period it re-anchors instead of bursting.

    With ``batch_s`` > 0 and a sampler that can (:meth:`ProcSampler.poll` and ``finish``),
    each tick only reads; what was read is parsed and handed to ``on_tick`` every
    ``batch_s``, tick by tick, in order. Each reading keeps the time it was taken, so the
    samples are the same; they only reach the model up to ``batch_s`` later (well inside
    its fold lag). Why: after 20 ms of sleep beside busy workers, the sampling thread's
    code and data are out of the CPU caches, and a tick costs several times what it does in
    a tight loop. The reads stay cold; parsing five ticks in a row pays the parsing's share
    once (docs/measurement.md, "Cost", has the figures).

    ``stop()`` sets an Event and releases the lock the loop waits on between ticks, so it
    returns within one tick's work, and the delivery of what was read before it. (A held
    lock acquired with a timeout is an interruptible sleep at the cost of one syscall;
    Event.wait() runs a Condition in Python, which costs more CPU at every tick.)
    An exception from the sampler or ``on_tick`` is logged and kept in ``last_error``; the
    loop goes on (a UI must not lose its sampler to one bad tick).
    """

    def __init__(
        self,
        sampler: Sampler,
        hz: float = 50.0,
        on_tick: Callable[[list[ThreadSample], CoreSample | None], None] | None = None,
        jitter: float = 0.3,
        seed: int | None = None,
        batch_s: float = BATCH_S,
    ) -> None:
        super().__init__(name="gilviz-sampler", daemon=True)
        if hz <= 0:
            raise ValueError("hz must be > 0")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if batch_s < 0:
            raise ValueError("batch_s must be >= 0")
        self.sampler = sampler
        self.hz = hz
        self.jitter = jitter
        self.on_tick = on_tick
        self.batch_s = batch_s
        self._stop_event = threading.Event()
        self._wakeup = threading.Lock()
        self._wakeup.acquire()  # held until stop(): the loop's timed acquire is its sleep
        self._rng = random.Random(seed)
        self._times = _LoopTimes()
        self.ticks = 0
        self.errors = 0
        self.last_error: BaseException | None = None

    @property
    def achieved_hz(self) -> float | None:
        """Ticks per second actually achieved (None before two ticks)."""
        t = self._times
        if self.ticks < 2 or t.first_ns is None or t.last_ns is None or t.last_ns <= t.first_ns:
            return None
        return (self.ticks - 1) * 1e9 / (t.last_ns - t.first_ns)

    def describe(self) -> str:
        """e.g. "/proc sampling, 50 Hz, 1,204 samples"."""
        hz = self.achieved_hz or self.hz
        return f"{self.sampler.method}, {hz:.0f} Hz, {self.sampler.stats.samples:,} samples"

    def run(self) -> None:
        period_ns = 1e9 / self.hz
        deadline = time.monotonic_ns()
        poll = getattr(self.sampler, "poll", None) if self.batch_s > 0 else None
        batch_ns = int(self.batch_s * 1e9)
        deliver_at = deadline + batch_ns
        polls: list[Any] = []
        try:
            while not self._stop_event.is_set():
                now = time.monotonic_ns()
                try:
                    if poll is not None:
                        polls.append(poll())
                    else:
                        samples, core = self.sampler.tick()
                        if self.on_tick is not None:
                            self.on_tick(samples, core)
                except Exception as exc:  # keep sampling; report through last_error
                    self._failed(exc)
                if polls and now >= deliver_at:
                    self._deliver(polls)
                    deliver_at = now + batch_ns
                self.ticks += 1
                if self._times.first_ns is None:
                    self._times.first_ns = now
                self._times.last_ns = now
                step = period_ns * (1.0 + self._rng.uniform(-self.jitter, self.jitter))
                deadline += int(step)
                now = time.monotonic_ns()
                if deadline < now - period_ns:
                    deadline = now  # fell far behind (suspended, overloaded): re-anchor
                wait_s = (deadline - now) / 1e9
                if wait_s > 0 and self._wakeup.acquire(timeout=wait_s):
                    with contextlib.suppress(RuntimeError):  # a second stop() released it
                        self._wakeup.release()  # leave it free for others
                    break
        finally:
            self._deliver(polls)  # what was read before the stop is measured too

    def _deliver(self, polls: list[Any]) -> None:
        """Parse the polls taken so far and hand each to on_tick, in order."""
        if not polls:
            return
        finish = self.sampler.finish  # type: ignore[union-attr]
        for p in polls:
            try:
                samples, core = finish(p)
                if self.on_tick is not None:
                    self.on_tick(samples, core)
            except Exception as exc:
                self._failed(exc)
        polls.clear()

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        self.last_error = exc
        log.exception("sampler tick failed")

    def stop(self, timeout: float | None = 2.0) -> None:
        """Stop ticking, deliver what was read and join (no tick starts after this
        returns)."""
        if not self._stop_event.is_set():
            self._stop_event.set()
            with contextlib.suppress(RuntimeError):  # a concurrent stop() released it first
                self._wakeup.release()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
