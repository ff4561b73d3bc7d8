"""Sampler choice, the psutil fallback, share arithmetic, and the sampling loop."""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time

import pytest

from gilviz.core.measuring import procfs, sampler
from gilviz.core.measuring.samples import STATES, CoreSample, ThreadRef, ThreadSample

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def reading(t, run, wait, letter="S", nr=None, arg0=None):
    return procfs.ThreadReading(t, run, wait, letter, 0, 0, nr, arg0)


class Spinner:
    """A thread of this process that burns CPU until stopped (a target with cpu_ns > 0)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.tid: int | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.tid = threading.get_native_id()
        self.ready.set()
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 10000 == 0:
                time.sleep(0.001)  # let the test's own thread have the GIL

    def __enter__(self) -> Spinner:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)


def tick_until(s, pred, timeout=10.0):
    """Tick until pred(samples, core) holds; returns that tick's result (deadline, no hope)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples, core = s.tick()
        if pred(samples, core):
            return samples, core
        time.sleep(0.01)
    raise AssertionError("condition not met before the deadline")


# --------------------------------------------------------------------------- share arithmetic


def test_shares_split_and_sum_to_one():
    prev = reading(0, 0, 0)
    cur = reading(1_000_000, 300_000, 100_000)
    s = sampler.shares_from_readings(prev, cur, "gil_wait")
    assert s == pytest.approx(
        {"running": 0.3, "runnable": 0.1, "gil_wait": 0.6, "io_wait": 0.0, "lock_wait": 0.0}
    )
    assert set(s) == set(STATES) - {"idle"}


def test_shares_renormalise_when_counters_lead_the_clock():
    s = sampler.shares_from_readings(reading(0, 0, 0), reading(100, 90, 30), "io_wait")
    assert s["running"] == pytest.approx(0.75)
    assert s["runnable"] == pytest.approx(0.25)
    assert s["io_wait"] == 0.0


def test_shares_none_for_empty_or_backwards_intervals():
    assert sampler.shares_from_readings(reading(5, 0, 0), reading(5, 1, 0), "io_wait") is None
    assert sampler.shares_from_readings(reading(0, 9, 0), reading(5, 1, 0), "io_wait") is None


def test_blocked_cause_uses_the_gil_range():
    futex = procfs.syscall_numbers("x86_64")["futex"]
    gil = (0x1000, 0x2000)
    assert sampler.blocked_cause(reading(0, 0, 0, "S", futex, 0x1100), gil, "x86_64") == (
        "gil_wait",
        "futex",
    )
    assert sampler.blocked_cause(reading(0, 0, 0, "S", futex, 0x9000), gil, "x86_64") == (
        "lock_wait",
        "futex",
    )
    assert sampler.blocked_cause(reading(0, 0, 0, "R"), gil, "x86_64") == (None, None)
    assert sampler.blocked_cause(reading(0, 0, 0, "S", 777), gil, "x86_64") == (
        "lock_wait",
        "syscall_777",
    )


def test_dominant_state():
    assert sampler.dominant_state({"running": 0.2, "gil_wait": 0.7, "io_wait": 0.1}) == "gil_wait"
    assert sampler.dominant_state({"running": 0.5, "gil_wait": 0.5}) == "running"  # tie: order


# --------------------------------------------------------------------------- choosing


@linux_only
def test_make_sampler_prefers_proc_on_linux():
    s = sampler.make_sampler()
    try:
        assert isinstance(s, sampler.ProcSampler)
        assert s.method == "/proc sampling"
    finally:
        s.close()


def test_proc_stat_is_read_once_per_core_period(tmp_path):
    stat = tmp_path / "stat"

    def write(busy: int, idle: int) -> None:
        with open(stat, "r+" if stat.exists() else "w") as f:
            f.truncate(0)
            f.write(f"cpu  0 0 0 0\ncpu0 {busy} 0 0 {idle} 0 0 0 0 0 0\nintr 1\n")

    write(100, 100)
    period = sampler.CORE_PERIOD_NS
    s = sampler.ProcSampler(proc_root=str(tmp_path), cpus=[0], gil_holder=False)
    try:
        assert s.tick(now_ns=period)[1] is None  # reads and primes
        cores = []
        for i in range(1, 6):  # five ticks a fifth of a period apart
            write(100 + i, 100 + 2 * i)  # what a read at this tick would see
            cores.append(s.tick(now_ns=period + i * period // 5)[1])
        assert cores[:4] == [None] * 4  # not read before the period is over
        # read once, at the fifth: the window is the whole period (5 busy of 15 ticks)
        assert cores[4] == CoreSample(t_ns=2 * period, dt_ns=period, busy={0: 5 / 15})
    finally:
        s.close()


def test_forced_fallback_gives_no_state_split():
    s = sampler.make_sampler(force_fallback=True)
    try:
        assert isinstance(s, sampler.PsutilSampler)
        assert s.method == "psutil (per-thread CPU only)"
        with Spinner() as sp:
            s.set_targets([ThreadRef(7, os.getpid(), sp.tid)])
            first, _ = s.tick()
            assert first == []  # a thread's first tick only primes it
            samples, core = tick_until(s, lambda smp, c: smp and smp[0].cpu_ns > 0 and c)
        (x,) = samples
        assert isinstance(x, ThreadSample)
        assert x.wid == 7
        assert x.shares is None
        assert x.state == "n/a"
        assert x.processor is None
        assert x.letter == "?"
        assert x.dt_ns > 0
        assert isinstance(core, CoreSample)
        assert all(0.0 <= v <= 1.0 for v in core.busy.values())
        # a vanished target is dropped silently
        s.set_targets([ThreadRef(8, os.getpid(), 2**22 + 12345)])
        assert s.tick()[0] == []
    finally:
        s.close()


# --------------------------------------------------------------------------- ProcSampler


@linux_only
def test_proc_sampler_primes_samples_and_drops_vanished_threads():
    s = sampler.ProcSampler()
    try:
        with Spinner() as sp:
            ref = ThreadRef(3, os.getpid(), sp.tid)
            s.set_targets([ref])
            first, core = s.tick()
            assert first == [] and core is None
            # (a core appears once /proc/stat has counted a 10 ms tick on it)
            cpus = set(procfs.usable_cpus())
            samples, core = tick_until(
                s, lambda smp, c: bool(smp) and c is not None and set(c.busy) == cpus
            )
            (x,) = samples
            assert x.wid == 3
            assert sum(x.shares.values()) == pytest.approx(1.0)
            assert x.state in STATES
            assert x.processor in procfs.usable_cpus()
            assert all(0.0 <= v <= 1.0 for v in core.busy.values())
            assert isinstance(s.gil_locations()[os.getpid()], sampler.gilsym.GilLocation)
        # the spinner has exited: its thread is dropped, no exception, no sample
        tick_until(s, lambda smp, c: smp == [] and not s._tracked)
        # a worker id may be re-assigned to a thread already tracked
        s.set_targets([ThreadRef(4, os.getpid(), threading.get_native_id())])
        s.tick()
        samples, _ = tick_until(s, lambda smp, c: bool(smp))
        assert samples[0].wid == 4
    finally:
        s.close()


class LockThenSleep:
    """A thread of this process that waits in a user lock (a futex outside the GIL:
    lock_wait) until release(), then sleeps (io_wait)."""

    def __init__(self) -> None:
        self.lock, self.woke = threading.Lock(), threading.Event()
        self.lock.acquire()
        self.tid: int | None = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        self.tid = threading.get_native_id()
        with self.lock:
            self.woke.set()
        time.sleep(60)

    def wait_in_lock(self) -> int:
        """Its tid, once it sits in the lock's futex (not on its way, waiting for the GIL)."""
        gil = sampler.gilsym.locate_gil(os.getpid())
        deadline = time.monotonic() + 10
        while True:
            if self.tid is not None:
                files = procfs.ThreadFiles(os.getpid(), self.tid)
                r = files.read()
                files.close()
                arg0 = r.syscall_arg0 if r is not None else None
                if arg0 is not None and not gil.start <= arg0 < gil.end:
                    return self.tid
            assert time.monotonic() < deadline, "the thread never reached the lock"
            time.sleep(0.01)

    def release(self) -> None:
        self.lock.release()
        assert self.woke.wait(10)


@linux_only
def test_a_thread_that_stays_blocked_is_sampled_whole_and_its_next_wait_seen():
    th = LockThenSleep()
    s = sampler.ProcSampler(gil_holder=False)
    try:
        s.set_targets([ThreadRef(5, os.getpid(), th.wait_in_lock())])
        t, ms = 10**12, 1_000_000
        assert s.tick(now_ns=t)[0] == []  # primes
        still = [s.tick(now_ns=t + i * 20 * ms)[0] for i in (1, 2, 3)]
        for (x,) in still:
            assert (x.state, x.dt_ns, x.shares["lock_wait"]) == ("lock_wait", 20 * ms, 1.0)
            assert (x.excess_run_ns, x.excess_wait_ns) == (0, 0)
        assert [x.t_ns for (x,) in still] == [t + i * 20 * ms for i in (1, 2, 3)]
        th.release()
        t += 3 * 20 * ms
        deadline = time.monotonic() + 10
        while True:  # until the thread is seen asleep: its wait has changed
            t += 20 * ms
            (x,) = s.tick(now_ns=t)[0]
            if x.state == "io_wait" and x.syscall and "sleep" in x.syscall:
                break
            assert time.monotonic() < deadline, "the sleep was never seen"
            time.sleep(0.01)
        (y,) = s.tick(now_ns=t + 20 * ms)[0]  # and stays in it
        assert (y.state, y.dt_ns, y.shares["io_wait"]) == ("io_wait", 20 * ms, 1.0)
        assert y.shares["lock_wait"] == 0.0
    finally:
        s.close()


@linux_only
def test_the_gil_holder_is_read_again_only_once_a_sampled_thread_has_run(monkeypatch):
    th = LockThenSleep()
    s = sampler.ProcSampler()  # the holder is read (after a calibration in the background)
    reads: list[int] = []
    words = sampler._MemReader.words

    def counted(self, addr, offsets):
        reads.append(addr)
        return words(self, addr, offsets)

    monkeypatch.setattr(sampler._MemReader, "words", counted)
    try:
        s.set_targets([ThreadRef(6, os.getpid(), th.wait_in_lock())])
        tick_until(s, lambda smp, c: smp and smp[0].gil_holder is not None)
        reads.clear()
        # blocked in the lock all along: it cannot have taken the GIL, and is not read for
        for _ in range(3):
            (x,) = s.tick()[0]
            assert (x.state, x.gil_holder) == ("lock_wait", False)
        assert reads == []
        th.release()
        # it ran (took the lock, went to sleep): the holder is read again
        tick_until(s, lambda smp, c: smp and smp[0].syscall and "sleep" in smp[0].syscall)
        assert reads
    finally:
        s.close()


# --------------------------------------------------------------------------- loop


class FakeSampler:
    method = "fake"

    def __init__(self, fail_every: int = 0) -> None:
        self.calls = 0
        self.fail_every = fail_every
        self.stats = sampler.SamplerStats()

    def tick(self, now_ns=None):
        self.calls += 1
        self.stats.samples += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RuntimeError("boom")
        return [], None


def test_sampler_loop_ticks_reports_hz_and_stops_promptly():
    got: list[int] = []
    ticked = threading.Event()

    def on_tick(samples, core):
        got.append(len(samples))
        if len(got) >= 10:
            ticked.set()

    fake = FakeSampler(fail_every=4)
    loop = sampler.SamplerLoop(fake, hz=200.0, on_tick=on_tick, jitter=0.3, seed=1)
    assert loop.daemon
    loop.start()
    try:
        assert ticked.wait(10)
    finally:
        loop.stop()
    assert not loop.is_alive()
    calls = fake.calls
    assert loop.ticks == calls
    assert loop.achieved_hz is not None and loop.achieved_hz > 0
    assert loop.errors >= 1 and isinstance(loop.last_error, RuntimeError)
    assert "fake" in loop.describe()
    assert fake.calls == calls  # nothing ticks after stop() returned


def test_sampler_loop_stop_does_not_wait_out_a_long_period():
    loop = sampler.SamplerLoop(FakeSampler(), hz=0.01)  # one tick per 100 s
    loop.start()
    deadline = time.monotonic() + 10
    while loop.ticks < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    loop.stop(timeout=10)
    assert not loop.is_alive()  # woke from its Event wait, not a 100 s sleep


def test_sampler_loop_rejects_bad_arguments():
    with pytest.raises(ValueError):
        sampler.SamplerLoop(FakeSampler(), hz=0)
    with pytest.raises(ValueError):
        sampler.SamplerLoop(FakeSampler(), jitter=1.0)
    with pytest.raises(ValueError):
        sampler.SamplerLoop(FakeSampler(), batch_s=-1)


@linux_only
def test_sampler_loop_parses_in_batches_and_delivers_every_reading_in_order():
    done = threading.Event()
    t = threading.Thread(target=done.wait, daemon=True)
    t.start()
    got: list[tuple[list[ThreadSample], CoreSample | None]] = []
    s = sampler.ProcSampler(gil_holder=False)
    s.set_targets([ThreadRef(0, os.getpid(), t.native_id)])
    # A batch longer than the test: nothing is delivered until stop() hands over the rest.
    loop = sampler.SamplerLoop(s, hz=200.0, on_tick=lambda *a: got.append(a), batch_s=3600)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while loop.ticks < 6:
            assert time.monotonic() < deadline, "the loop never ticked"
            time.sleep(0.005)
        assert got == [] and s.stats.ticks == 0  # read, not yet parsed
    finally:
        loop.stop()
        done.set()
        t.join()
    assert not loop.is_alive()
    assert len(got) == loop.ticks == s.stats.ticks  # every reading, once
    samples = [x for batch, _ in got for x in batch]
    assert len(samples) == loop.ticks - 1  # the first reading only primes
    stamps = [x.t_ns for x in samples]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(x.t_ns - x.dt_ns == y.t_ns for y, x in itertools.pairwise(samples))
    assert all(x.state == "lock_wait" for x in samples)  # blocked in a lock all along
    s.close()


@linux_only
def test_gil_holder_status_off_and_unknown_holder_is_none():
    s = sampler.ProcSampler(gil_holder=False)
    try:
        s.set_targets([ThreadRef(1, os.getpid(), threading.get_native_id())])
        s.tick()
        samples, _ = tick_until(s, lambda smp, c: bool(smp))
        assert samples[0].gil_holder is None
        assert s.gil_holder_status() == {os.getpid(): "off"}
    finally:
        s.close()


@linux_only
def test_memory_words_are_read_in_one_go():
    import ctypes

    block = (ctypes.c_uint64 * 40)(*range(1000, 1040))
    mem = sampler._MemReader(os.getpid())
    try:
        assert mem.words(ctypes.addressof(block) + 8, (0, 208, 304)) == [1001, 1027, 1039]
        assert mem.word(ctypes.addressof(block)) == 1000
        assert mem.words(1 << 70, (0, 8)) == [None, None]  # no such address
    finally:
        mem.close()


def test_core_busy_from_proc_stat_deltas_and_carry_over(tmp_path):
    stat = tmp_path / "stat"

    def write(cpu0: tuple[int, int], cpu1: tuple[int, int]) -> None:
        # (busy user ticks, idle ticks) per CPU, written in place: the reader keeps its fd
        lines = ["cpu  0 0 0 0 0 0 0 0 0 0"]
        for n, (busy, idle) in enumerate((cpu0, cpu1)):
            lines.append(f"cpu{n} {busy} 0 0 {idle} 0 0 0 0 0 0")
        with open(stat, "r+" if stat.exists() else "w") as f:
            f.truncate(0)
            f.write("\n".join(lines) + "\nintr 1 2 3\n")

    write((100, 100), (50, 50))
    s = sampler.ProcSampler(
        proc_root=str(tmp_path), cpus=[0, 1], gil_holder=False, core_period_ns=0
    )
    try:
        assert s.tick(now_ns=1_000)[1] is None  # primes
        write((101, 101), (52, 50))
        _, core = s.tick(now_ns=2_000)
        assert core == CoreSample(t_ns=2_000, dt_ns=1_000, busy={0: 0.5, 1: 1.0})
        write((101, 101), (52, 51))  # no tick counted on cpu0: its last value carries over
        _, core = s.tick(now_ns=3_000)
        assert core.busy == {0: 0.5, 1: 0.0}
        write((103, 101), (52, 51))  # cpu0's window spans both intervals: 2 of 2 busy
        _, core = s.tick(now_ns=4_000)
        assert core.busy[0] == 1.0
        assert core.busy[1] == 0.0
    finally:
        s.close()


def test_a_process_whose_threads_are_all_gone_is_no_longer_looked_up(tmp_path):
    """The sampled pids are kept between ticks: a process whose last thread is dropped
    must leave them (else it is looked up, its GIL searched for, at every tick)."""
    (tmp_path / "stat").write_text("cpu  0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n")
    fields = " ".join(["0"] * 36 + ["0"] + ["0"] * 12)
    for pid, tid in ((10, 11), (20, 21)):
        d = tmp_path / str(pid) / "task" / str(tid)
        d.mkdir(parents=True)
        (d / "stat").write_text(f"{tid} (w) R {fields}\n")
        (d / "schedstat").write_text("100 5 1\n")
    s = sampler.ProcSampler(proc_root=str(tmp_path), cpus=[0], gil_holder=False)
    try:
        s.set_targets([ThreadRef(0, 10, 11), ThreadRef(1, 20, 21)])
        assert set(s.poll(now_ns=1).procs) == {10, 20}
        # thread 21 exits: its open stat file answers with the leader's line
        (tmp_path / "20" / "task" / "21" / "stat").write_text(f"20 (w) R {fields}\n")
        s.finish(s.poll(now_ns=2))
        assert set(s.poll(now_ns=3).procs) == {10}
    finally:
        s.close()
