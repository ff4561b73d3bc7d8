"""ProcSampler against real threads: does it tell GIL waits, I/O waits and lock waits apart?

Each case starts one small process (tests/integration/sampler_child.py) with threads of a
known kind, samples it with the real SamplerLoop at 50 Hz until every thread has enough
samples (a deadline, not a sleep), and compares time-weighted shares. Assertions are
relative truths within this session's measurements, never absolute timings: the machine
is shared, and only orderings that theory guarantees by a wide margin are checked.
One measured process runs at a time (2 cores are shared with everything else).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from gilviz.core.measuring.sampler import ProcSampler, SamplerLoop
from gilviz.core.measuring.samples import ThreadRef

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

CHILD = Path(__file__).resolve().parent / "sampler_child.py"
SAMPLES_PER_THREAD = 60  # ~1.2 s at 50 Hz
DEADLINE_S = 30.0


def measure(kinds: list[str], python: str | None = None) -> dict[str, list[dict[str, float]]]:
    """Run the child with ``kinds`` and return, per kind, each thread's mean shares, plus
    "holds": the fraction of its samples (where the holder was read) holding the GIL."""
    proc = subprocess.Popen(
        [python or sys.executable, str(CHILD), *kinds],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    sampler = ProcSampler()
    loop: SamplerLoop | None = None
    try:
        words = proc.stdout.readline().split()
        assert words and words[0] == "READY", words
        pid = int(words[1])
        kind_of: dict[int, str] = {}
        refs = []
        for wid, word in enumerate(words[2:]):
            kind, tid = word.split(":")
            kind_of[wid] = kind
            refs.append(ThreadRef(wid, pid, int(tid)))
        sampler.set_targets(refs)

        lock = threading.Lock()
        acc: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        counts: dict[int, int] = defaultdict(int)
        holds: dict[int, list[bool]] = defaultdict(list)
        enough = threading.Event()

        def on_tick(samples, core) -> None:
            with lock:
                holders = [s.wid for s in samples if s.gil_holder]
                assert len(holders) <= 1, holders  # one GIL, one holder at an instant
                for s in samples:
                    if s.gil_holder is not None:
                        holds[s.wid].append(s.gil_holder)
                    a = acc[s.wid]
                    a["_dt"] += s.dt_ns
                    for k, v in s.shares.items():
                        a[k] += v * s.dt_ns
                    counts[s.wid] += 1
                if len(counts) == len(refs) and min(counts.values()) >= SAMPLES_PER_THREAD:
                    enough.set()

        loop = SamplerLoop(sampler, hz=50.0, on_tick=on_tick)
        loop.start()
        assert enough.wait(DEADLINE_S), f"too few samples: {dict(counts)}"
        loop.stop()
        assert loop.errors == 0, loop.last_error
        assert os.getpid() not in sampler.gil_locations()
        assert not isinstance(sampler.gil_locations()[pid], str), sampler.gil_locations()
        out: dict[str, list[dict[str, float]]] = defaultdict(list)
        with lock:
            for wid, a in acc.items():
                dt = a.pop("_dt")
                row = {k: v / dt for k, v in a.items()}
                h = holds.get(wid)
                row["holds"] = sum(h) / len(h) if h else float("nan")
                out[kind_of[wid]].append(row)
        return dict(out)
    finally:
        if loop is not None:
            loop.stop()
        sampler.close()
        proc.stdin.close()
        proc.wait(10)


def mean(rows: list[dict[str, float]], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


@pytest.fixture(scope="module")
def crunch_and_sleep():
    return measure(["crunch:2", "sleep:2"])


def shares(r: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in r.items() if k != "holds"}


def test_shares_are_well_formed(crunch_and_sleep):
    for rows in crunch_and_sleep.values():
        for r in rows:
            assert sum(shares(r).values()) == pytest.approx(1.0, abs=1e-6)
            assert all(v >= 0 for v in shares(r).values())


def test_two_crunch_threads_wait_for_the_gil(crunch_and_sleep):
    crunch, sleep = crunch_and_sleep["crunch"], crunch_and_sleep["sleep"]
    for r in crunch:
        assert r["gil_wait"] > 0.2, r
        assert r["io_wait"] < 0.05, r
    assert mean(crunch, "gil_wait") > mean(sleep, "gil_wait")


def test_sleep_threads_are_in_io_wait(crunch_and_sleep):
    for r in crunch_and_sleep["sleep"]:
        assert r["io_wait"] == max(shares(r).values()), r
        assert r["io_wait"] > 0.5, r


def test_user_lock_contention_is_a_lock_wait_not_a_gil_wait():
    lock = measure(["lock:3"])["lock"]
    assert mean(lock, "lock_wait") > mean(lock, "gil_wait")
    # Of the time not spent waiting for a core (which follows the rest of the machine's
    # load, not the lock): three threads on one lock wait for it much of the time.
    assert mean(lock, "lock_wait") > 0.2 * (1 - mean(lock, "runnable")), lock


def test_hashlib_threads_wait_for_the_gil_far_less_than_crunch(crunch_and_sleep):
    hashing = measure(["hashlib:2"])["hashlib"]
    crunch = crunch_and_sleep["crunch"]
    assert mean(hashing, "gil_wait") < mean(crunch, "gil_wait") / 2
    for r in hashing:
        assert r["running"] + r["runnable"] > r["gil_wait"], r


def test_idle_pool_threads_wait_on_their_queue():
    for r in measure(["idle:2"])["idle"]:
        assert r["lock_wait"] == max(shares(r).values()), r
        assert r["gil_wait"] < 0.05, r


def test_a_1ms_sleeper_beside_crunch_mostly_waits_for_the_gil():
    # The convoy effect: each wake-up needs the GIL, which the crunch threads hold.
    (tick,) = measure(["crunch:2", "tick:1"])["tick"]
    assert tick["gil_wait"] > tick["io_wait"], tick


def test_gil_holder_read_from_memory_sees_a_thread_sleeping_with_the_gil():
    # Only the holder read from memory can show this: the sleeper is in clock_nanosleep
    # (io_wait by its syscall), yet it holds the GIL, and the crunch thread waits for it.
    got = measure(["gilsleep:1", "crunch:1"])
    (sleeper,), (crunch,) = got["gilsleep"], got["crunch"]
    assert sleeper["io_wait"] == max(shares(sleeper).values()), sleeper
    assert crunch["gil_wait"] == max(shares(crunch).values()), crunch
    assert sleeper["holds"] > 0.5 > crunch["holds"], (sleeper, crunch)


def test_gil_holder_is_a_crunch_thread_not_a_sleeper(crunch_and_sleep):
    crunch, sleep = crunch_and_sleep["crunch"], crunch_and_sleep["sleep"]
    assert sum(r["holds"] for r in crunch) > 0.5
    assert all(r["holds"] < min(c["holds"] for c in crunch) for r in sleep)


@pytest.mark.skipif(
    not os.path.exists("/usr/bin/python3.11"), reason="no distribution python3.11 to compare"
)
def test_statically_linked_python_gil_is_found_too():
    # Debian's python3.11 has _PyRuntime in the executable itself (non-PIE, static libpython).
    crunch = measure(["crunch:2"], python="/usr/bin/python3.11")["crunch"]
    for r in crunch:
        assert r["gil_wait"] > 0.2, r


def test_files_stay_open_between_ticks():
    # FINDINGS: re-reading open files from offset 0 is what keeps a tick cheap; a reader
    # that reopened files every tick would show here as a changing set of descriptors.
    # (The GIL-holder extra is off: it opens /proc/PID/mem once, after a calibration.)
    s = ProcSampler(gil_holder=False)
    try:
        s.set_targets([ThreadRef(0, os.getpid(), threading.get_native_id())])
        s.tick()
        before = sorted(os.listdir("/proc/self/fd"))
        for _ in range(20):
            s.tick()
        assert sorted(os.listdir("/proc/self/fd")) == before
    finally:
        s.close()
