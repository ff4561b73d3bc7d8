"""gilviz against every CPython people run: 3.10 to 3.15, each through ``--python``.

The interpreters come from tests/pythons.py (pyenv, and Debian's 3.14 and 3.15 made by
scripts/python-from-debian); one that is absent is skipped with the reason. Each version
gets a few small runs, and the assertions are about measured states, never wall time: the
threads of a pure-Python workload wait for the GIL, process workers are separate processes
that do not, interpreter workers are threads of one process with a GIL each, fetch's
threads wait for I/O at the same time, a crash is reported, and the GIL is located and its
holder read where the interpreter allows it.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from gilviz.core.measuring import gilsym
from gilviz.core.measuring.sampler import ProcSampler, SamplerLoop
from gilviz.core.measuring.samples import ThreadRef
from tests.helpers import run_cli, run_json
from tests.pythons import matrix_params

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

CHILD = Path(__file__).resolve().parent / "sampler_child.py"
# No heartbeat: in a process pool it is a second thread in one worker, whose wake-ups
# every millisecond make that worker wait for its own GIL on a loaded machine.
CRUNCH = ["--workers", "2", "--tasks", "4", "--size", "1500000", "--hz", "50", "--no-heartbeat"]


@pytest.fixture(scope="module", params=matrix_params())
def target(request) -> tuple[str, str]:
    return request.param  # (version, path)


@pytest.fixture(scope="module")
def python(target) -> str:
    return target[1]


@pytest.fixture(scope="module")
def version(target) -> tuple[int, int]:
    major, minor = target[0].split(".")
    return int(major), int(minor)


@pytest.fixture(scope="module")
def crunch_runs(python, version):
    """crunch on threads, processes and (3.14+) interpreters, one run each."""
    pools = "thread,process" + (",interpreter" if version >= (3, 14) else "")
    return run_json("compare", "crunch", "--pools", pools, "--python", python, *CRUNCH)


def test_the_runner_is_the_target_python(python, version, crunch_runs):
    doc = run_json("run", "tiny", "--pool", "serial", "--tasks", "2", "--python", python)
    assert doc["runs"][0]["error"] is None
    assert crunch_runs["python"] == doc["python"]
    assert doc["python"]["version"].startswith("{}.{}.".format(*version))
    assert doc["python"]["implementation"] == "CPython"
    assert doc["python"]["gil_enabled"] is True
    assert "libpython" in doc["python"]["build"]  # the build each figure came from


def gil_bound(states: dict) -> float:
    """Of the time workers had a core or wanted the GIL, the share spent waiting for the
    GIL. Time spent waiting for a core is left out: on a shared machine it varies with
    everyone else's load, while two pure-Python threads take turns whatever it is."""
    return states["gil_wait"] / ((states["gil_wait"] + states["running"]) or 1.0)


def test_doctor_reports_the_targets_own_facts(python, version):
    out = run_cli("doctor", "--json", "--python", python)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["python"]["version"].startswith("{}.{}.".format(*version))
    assert doc["python"]["path"] == python
    # 3.14 made forkserver the default on Linux; gilviz's own interpreter says fork.
    assert doc["default_start_method"] == ("forkserver" if version >= (3, 14) else "fork")
    assert doc["gil"]["located"] == "yes"
    if version >= (3, 11):
        assert doc["gil"]["holder"].startswith("readable: ")
        assert ("every interpreter" in doc["gil"]["holder"]) == (version >= (3, 12))
    else:
        assert (
            doc["gil"]["holder"].startswith("n/a: ") and "native_thread_id" in doc["gil"]["holder"]
        )
    assert (doc["pools"]["interpreter"] == "available") == (version >= (3, 14))


def test_threads_contend_for_the_gil_and_processes_do_not(crunch_runs):
    runs = {r["pool"]: r for r in crunch_runs["runs"]}
    thread, process = runs["thread"], runs["process"]
    assert thread["error"] is None and process["error"] is None
    # The GIL was located (contention measured, not n/a), and two pure-Python threads on
    # two cores spend much of their time waiting for it; separate processes barely do.
    assert thread["gil"]["contention"] is not None
    # (A process worker waits too, a little, when its watcher thread wakes on a loaded
    # machine: hence a ratio, not zero.)
    assert gil_bound(thread["states"]) > 0.2, thread["states"]
    assert gil_bound(thread["states"]) > 1.6 * gil_bound(process["states"]), (
        thread["states"],
        process["states"],
    )
    assert len({w["pid"] for w in thread["workers"]}) == 1
    assert len({w["pid"] for w in process["workers"]}) == 2  # one process per worker
    # The pool's start-up is measured apart from its work, with the start method used.
    assert thread["startup"] is None
    assert process["startup"]["pool_start_s"] >= 0
    assert process["startup"]["first_task_s"] > 0
    # Where the holder is read: one GIL for the threads, held in turn, so each held it for
    # part of the time. (Each share is over the samples that saw that thread, so shares of
    # threads seen for different spans need not add up to at most 1.)
    if thread["workers"][0]["gil_held"] is not None:
        assert all(0 < w["gil_held"] < 1 for w in thread["workers"]), thread["workers"]


def test_process_pools_start_with_the_pythons_own_default(version, crunch_runs):
    process = next(r for r in crunch_runs["runs"] if r["pool"] == "process")
    # 3.14 made forkserver the default on Linux: its start-up is the one gilviz shows.
    default = "forkserver" if version >= (3, 14) else "fork"
    assert process["startup"]["start_method"] == default


def test_compare_races_interpreters_where_the_python_has_them(python, version):
    out = run_cli("compare", "tiny", "--tasks", "20", "--hz", "0", "--python", python)
    assert out.returncode == 0, out.stderr
    rows = [line.split()[0] for line in out.stdout.splitlines()[2:] if line.strip()]
    if version >= (3, 14):
        assert rows[:4] == ["serial", "thread", "process", "interpreter"]
        assert "interpreter pool not raced" not in out.stdout
    else:
        assert rows[:3] == ["serial", "thread", "process"] and "interpreter" not in rows[:4]
        assert "interpreter pool not raced: Python 3." in out.stdout


def test_interpreter_pool_where_the_python_has_one(python, crunch_runs):
    runs = {r["pool"]: r for r in crunch_runs["runs"]}
    if "interpreter" not in runs:
        out = run_cli("run", "crunch", "--pool", "interpreter", "--python", python)
        assert out.returncode == 2
        assert "InterpreterPoolExecutor (added in 3.14)" in out.stderr
        assert out.stderr.count("\n") == 1
        return
    interp, thread = runs["interpreter"], runs["thread"]
    assert interp["error"] is None and interp["tasks_done"] == 4
    # Threads of one process, each in its own interpreter with its own GIL: they do not
    # wait for each other as the thread pool's workers do.
    assert len({w["pid"] for w in interp["workers"]}) == 1
    assert len({w["tid"] for w in interp["workers"]}) == 2
    assert interp["gil"]["contention"] is not None
    assert gil_bound(thread["states"]) > 1.6 * gil_bound(interp["states"]), (
        thread["states"],
        interp["states"],
    )
    # A worker holds its own interpreter's GIL, read from that interpreter's state.
    assert max(w["gil_held"] for w in interp["workers"]) > 0.5, interp["workers"]


def test_fetch_threads_wait_for_io_at_the_same_time(python):
    doc = run_json(
        "run", "fetch", "--pool", "thread", "--workers", "3", "--tasks", "3",
        "--delay-ms", "400", "--hz", "50", "--python", python,
    )  # fmt: skip
    (run,) = doc["runs"]
    assert run["error"] is None and run["tasks_done"] == 3
    assert len(run["workers"]) == 3
    # Each worker's share of the run spent waiting for I/O: more than one run's worth in
    # all means some of those waits overlapped.
    io = [w["states"]["io_wait"] for w in run["workers"]]
    assert sum(io) > 1.0, io


def test_a_crashed_process_worker_is_reported(python):
    out = run_cli(
        "run", "segfault", "--pool", "process", "--workers", "2", "--tasks", "2",
        "--size", "20", "--hz", "0", "--json", "--python", python,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    (run,) = json.loads(out.stdout)["runs"]
    assert "terminated abruptly" in run["error"]
    assert "SIGSEGV" in run["error"]


def measure(python: str, kinds: list[str], samples: int = 50, futex_seen: int = 0):
    """Sample ``sampler_child.py KINDS`` under ``python``: per kind, each thread's mean
    shares and the fraction of its holder reads in which it held a GIL; and the sampler's
    word on the holder for that process. Goes on until every thread has ``samples`` and
    ``futex_seen`` samples caught a thread blocked in a futex (a deadline, not a sleep)."""
    import subprocess

    proc = subprocess.Popen(
        [python, str(CHILD), *kinds], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    sampler = ProcSampler()
    loop = None
    try:
        words = proc.stdout.readline().split()
        assert words and words[0] == "READY", words
        pid = int(words[1])
        kind_of = {}
        refs = []
        for wid, word in enumerate(words[2:]):
            kind, tid = word.split(":")
            kind_of[wid] = kind
            refs.append(ThreadRef(wid, pid, int(tid)))
        sampler.set_targets(refs)
        lock = threading.Lock()
        acc: dict = defaultdict(lambda: defaultdict(float))
        holds: dict = defaultdict(list)
        counts: dict = defaultdict(int)
        futex: dict = defaultdict(lambda: defaultdict(int))  # kind -> where futex waits went
        enough = threading.Event()

        def on_tick(got, core) -> None:
            # Counted from the first holder read on (or the reason there is none): before
            # it, a subinterpreter's GIL is not known yet.
            if sampler.gil_holder_status().get(pid, "calibrating") == "calibrating":
                return
            with lock:
                for s in got:
                    if s.gil_holder is not None:
                        holds[s.wid].append(s.gil_holder)
                    for k, v in s.shares.items():
                        acc[s.wid][k] += v * s.dt_ns
                    acc[s.wid]["_dt"] += s.dt_ns
                    counts[s.wid] += 1
                    if s.syscall == "futex":  # seen blocked in a futex: which wait was it?
                        for cause in ("gil_wait", "lock_wait"):
                            if s.shares[cause] > 0:
                                futex[kind_of[s.wid]][cause] += 1
                caught = sum(sum(v.values()) for v in futex.values())
                full = len(counts) == len(refs) and min(counts.values()) >= samples
                if full and caught >= futex_seen:
                    enough.set()

        loop = SamplerLoop(sampler, hz=50.0, on_tick=on_tick)
        loop.start()
        assert enough.wait(60), f"too few samples: {dict(counts)}"
        loop.stop()
        assert loop.errors == 0, loop.last_error
        where = sampler.gil_locations()[pid]
        assert isinstance(where, gilsym.GilLocation), where
        out: dict = defaultdict(list)
        with lock:
            for wid, a in acc.items():
                dt = a.pop("_dt")
                row = {k: v / dt for k, v in a.items()}
                h = holds.get(wid)
                row["holds"] = sum(h) / len(h) if h else None
                out[kind_of[wid]].append(row)
        out["futex"] = {k: dict(v) for k, v in futex.items()}
        return dict(out), sampler.gil_holder_status()[pid]
    finally:
        if loop is not None:
            loop.stop()
        sampler.close()
        proc.stdin.close()
        proc.wait(10)


def test_gil_holder_shows_a_thread_blocked_with_the_gil(python, version):
    # A thread that sleeps in C with the GIL held (ctypes.PyDLL) beside a crunching one:
    # by its syscall it waits for I/O, yet it holds the GIL and the crunch thread waits.
    got, status = measure(python, ["gilsleep:1", "crunch:1"])
    (sleeper,), (crunch,) = got["gilsleep"], got["crunch"]
    assert crunch["gil_wait"] > crunch["lock_wait"], crunch
    if version < (3, 11):
        assert "native_thread_id" in status  # n/a, with the reason
        assert sleeper["holds"] is None
        return
    assert status == "reading"
    assert sleeper["holds"] > 0.5 > crunch["holds"], (sleeper, crunch)


def test_a_wait_for_a_subinterpreters_own_gil_is_a_gil_wait(python, version):
    if version < (3, 14):
        pytest.skip("InterpreterPoolExecutor came in 3.14")
    # Two crunch threads inside the interpreter of one task of an interpreter pool: they
    # wait for that interpreter's GIL, whose futex lies in its own state, not _PyRuntime.
    got, status = measure(python, ["subcrunch:2"], futex_seen=8)
    assert status == "reading"
    # Every sample that caught one of them blocked in a futex: its wait was the GIL's.
    # (Samples that caught them running inherit their last wait: shares are noisier.)
    seen = got["futex"].get("subcrunch", {})
    assert seen.get("gil_wait", 0) >= 6, seen
    assert seen.get("lock_wait", 0) <= seen["gil_wait"] // 4, seen
    for row in got["subcrunch"]:
        assert row["gil_wait"] > 0.02, row
    assert max(r["holds"] for r in got["subcrunch"]) > 0.2
