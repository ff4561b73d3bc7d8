"""What gilviz measures, checked against what theory says, on real runs.

Every assertion compares figures of runs made in this module (within one session), never
with a wall-clock threshold: the machine has 2 cores shared with other work, so only
orderings and identities that hold by a wide margin are asserted. The runs are small
(about a second each at most) and made once per module by the ``runs`` fixture.

The figures these orderings come from were checked against perf (``benchmarks/accuracy.py``):
crunch on 2 threads waits for the GIL about half its busy time, on processes about never;
sleeping threads wait for I/O; hashlib releases the GIL.
"""

from __future__ import annotations

import sys

import pytest

from gilviz.core import report
from gilviz.core.measuring import machine as gp
from gilviz.core.measuring.samples import STATES
from gilviz.core.running.session import Run, run_blocking
from gilviz.core.running.spec import build_spec
from tests.helpers import run_cli, run_json

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the state split needs Linux /proc"
)

BUSY = ("running", "gil_wait", "io_wait", "lock_wait", "runnable")

# name -> (workload, pool, workers, tasks, size)
RUNS = {
    "crunch-threads": ("crunch", "thread", 2, 2, 12_000_000),
    "crunch-processes": ("crunch", "process", 2, 2, 12_000_000),
    "crunch-threads-4": ("crunch", "thread", 4, 4, 5_000_000),
    "sleep-threads": ("sleep", "thread", 4, 4, 500),
    "hash-threads": ("hash", "thread", 2, 2, 512),
    "sleep-uneven": ("sleep", "thread", 2, 3, 400),  # the third task leaves a worker idle
    "pickle-processes": ("pickle-heavy", "process", 2, 2, 200_000),
    "pickle-threads": ("pickle-heavy", "thread", 2, 2, 200_000),
    "tiny-threads": ("tiny", "thread", 2, 30_000, 100),
}


def _run(name: str, **kwargs) -> Run:
    workload, pool, workers, tasks, size = RUNS[name]
    spec = build_spec(workload, pool=pool, workers=workers, tasks=tasks, size=size)
    run = run_blocking(spec, sample_hz=50.0, **kwargs)
    assert run.model.error() is None, (name, run.model.error())
    return run


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    """Each run once, one at a time (a measured run must not share cores with another)."""
    return {name: _run(name) for name in RUNS}


def require_cores(runs: dict[str, Run], *names: str) -> None:
    """Skip when other work starved these runs of CPU (parallelism, from the tasks' own CPU
    clocks, under 45% of what the pool gets on free cores). Then every thread mostly queues
    for a core: the true GIL wait of threads shrinks towards that of processes (perf
    agrees), and the sampler books part of the queueing as blocked time (schedstat lag,
    benchmarks/README.md), so no ordering of GIL figures is reliable."""
    cores = gp.cores_usable()
    for name in names:
        _, pool, workers, _, _ = RUNS[name]
        snap = runs[name].model.snapshot()
        free = 1.0 if pool == "thread" and RUNS[name][0] == "crunch" else min(workers, cores)
        if snap.parallelism is not None and snap.parallelism < 0.45 * free:
            pytest.skip(
                f"{name}: parallelism {snap.parallelism:.2f} of {free:g}: the machine is too "
                "busy for GIL figures to be told apart"
            )


def busy_share(states: dict[str, float], key: str) -> float:
    busy = sum(states[k] for k in BUSY)
    assert busy > 0, f"a worker was never sampled while it had a task: {states}"
    return states[key] / busy


# --- GIL contention: threads versus processes, Python versus C ------------------------------


def test_crunch_on_threads_waits_for_the_gil_far_more_than_on_processes(runs):
    require_cores(runs, "crunch-threads", "crunch-processes")
    threads = runs["crunch-threads"].model.snapshot()
    procs = runs["crunch-processes"].model.snapshot()
    assert threads.gil_contention is not None and procs.gil_contention is not None
    # About 0.5 against 0.0 on free cores. When other work keeps both threads queueing for
    # a core, the true GIL wait of threads falls (perf: .20-.30 under load, .05 at a load
    # average of 30): hence "clearly above" is twice as much plus 0.05, not a fixed gap.
    assert threads.gil_contention > 2 * procs.gil_contention + 0.05
    # Every thread of the pool takes its turn waiting, not just one.
    for w in threads.workers:
        assert busy_share(w.states, "gil_wait") > max(
            busy_share(p.states, "gil_wait") for p in procs.workers if p.tasks
        )


def test_crunch_processes_run_rather_than_wait_for_the_gil(runs):
    require_cores(runs, "crunch-processes")
    snap = runs["crunch-processes"].model.snapshot()
    for w in (w for w in snap.workers if w.tasks):  # a process worker may have had none
        assert busy_share(w.states, "running") > busy_share(w.states, "gil_wait") * 4


def test_sleeping_threads_are_mostly_in_io_wait(runs):
    snap = runs["sleep-threads"].model.snapshot()
    for states in [snap.states, *(w.states for w in snap.workers)]:
        others = [states[k] for k in BUSY if k != "io_wait"]
        assert states["io_wait"] > sum(others)
    assert snap.gil_contention < runs["crunch-threads"].model.snapshot().gil_contention


def test_hashing_threads_contend_far_less_than_crunching_threads(runs):
    require_cores(runs, "crunch-threads")
    hashing = runs["hash-threads"].model.snapshot().gil_contention
    crunching = runs["crunch-threads"].model.snapshot().gil_contention
    assert hashing is not None and crunching is not None
    assert hashing < crunching / 2


# --- bookkeeping: shares, idle, cores ------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in RUNS if not n.startswith("pickle")])
def test_states_sum_to_one_per_worker_and_per_run(runs, name):
    snap = runs[name].model.snapshot()
    assert snap.states is not None and set(snap.states) == set(STATES)
    assert sum(snap.states.values()) == pytest.approx(1.0, abs=1e-9)
    assert snap.workers
    for w in snap.workers:
        assert w.states is not None
        assert all(v >= 0 for v in w.states.values())
        assert sum(w.states.values()) == pytest.approx(1.0, abs=1e-9)
    doc = report.run_summary(runs[name].model)  # the JSON entry, rounded to 4 digits
    assert sum(doc["states"].values()) == pytest.approx(1.0, abs=1e-3)
    for w in doc["workers"]:
        assert sum(w["states"].values()) == pytest.approx(1.0, abs=1e-3)


def test_idle_appears_when_a_worker_runs_out_of_tasks(runs):
    uneven = runs["sleep-uneven"].model.snapshot()  # 2 workers, 3 tasks
    even = runs["sleep-threads"].model.snapshot()  # 4 workers, 4 tasks
    assert uneven.states["idle"] > even.states["idle"] + 0.1
    idles = sorted(w.states["idle"] for w in uneven.workers)
    assert idles[-1] > idles[0] + 0.2  # the worker that got one task waited for the other


def test_idle_appears_when_workers_outnumber_tasks():
    # A process pool starts all its workers (fork), and each announces itself at start;
    # the two that never get a task are sampled all along as idle.
    spec = build_spec("sleep", pool="process", workers=4, tasks=2, size=300)
    snap = run_blocking(spec, sample_hz=50.0).model.snapshot()
    assert snap.error is None
    assert len(snap.workers) == 4
    without = [w for w in snap.workers if w.tasks == 0]
    with_task = [w for w in snap.workers if w.tasks > 0]
    assert len(without) >= 2 and with_task  # 2 tasks cannot keep 3 workers busy
    for w in without:
        assert w.states is not None
        assert w.states["idle"] > max(v.states["idle"] for v in with_task)
        assert w.states["idle"] > 0.5
    assert snap.states["idle"] > 0.25


def test_every_usable_cpu_has_per_core_data(runs):
    usable = set(gp.usable_cpus())
    for name in ("crunch-threads", "crunch-processes"):
        cores = runs[name].model.snapshot().cores
        assert {c.cpu for c in cores} == usable
        for c in cores:
            assert c.history, f"cpu {c.cpu} has no samples in {name}"
            assert all(0.0 <= b <= 1.0 for b in c.history)


# --- heartbeat ------------------------------------------------------------------------------


def test_heartbeat_is_later_beside_crunching_threads_than_in_a_process_worker(runs):
    require_cores(runs, "crunch-threads-4", "crunch-processes")
    threads = runs["crunch-threads-4"].model.snapshot()
    procs = runs["crunch-processes"].model.snapshot()
    assert threads.latency_p99_ms is not None and procs.latency_p99_ms is not None
    # Four threads hold the runner's GIL in turn; a process worker shares its GIL with one.
    assert threads.latency_p99_ms > procs.latency_p99_ms


# --- pickling -------------------------------------------------------------------------------


def test_pickle_cost_is_reported_for_processes_and_null_for_threads(runs):
    procs = report.run_summary(runs["pickle-processes"].model)["pickle"]
    assert procs is not None
    assert procs["args_bytes"] > 0 and procs["results_bytes"] > 0
    assert procs["args_s"] > 0 and procs["results_s"] > 0
    assert report.run_summary(runs["pickle-threads"].model)["pickle"] is None


# --- the portable fallback ------------------------------------------------------------------


def test_forced_fallback_reports_no_state_split():
    spec = build_spec("crunch", pool="thread", workers=2, tasks=2, size=2_000_000)
    run = run_blocking(spec, force_fallback=True)
    assert run.model.error() is None
    snap = run.model.snapshot()
    assert snap.method.startswith("psutil")
    assert snap.gil_contention is None and snap.states is None
    assert all(w.states is None for w in snap.workers)
    assert snap.cpu_s > 0  # CPU is still measured
    doc = report.run_summary(run.model)
    assert doc["gil"]["contention"] is None
    assert doc["states"] is None or all(v is None for v in doc["states"].values())


def test_fallback_sampler_cli_says_null_in_json_and_na_in_text():
    args = ["run", "crunch", "--pool", "thread", "--workers", "2", "--tasks", "2"]
    args += ["--size", "1000000", "--fallback-sampler"]
    (run,) = run_json(*args)["runs"]
    assert run["error"] is None
    assert run["gil"]["contention"] is None
    assert run["states"] is None or all(v is None for v in run["states"].values())
    for w in run["workers"]:
        assert w["states"] is None or all(v is None for v in w["states"].values())
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if "contention" in ln.lower())
    assert "n/a" in line
    assert "n/a" in next(ln for ln in out.stdout.splitlines() if "GIL wait" in ln)


def test_threads_between_tiny_tasks_wait_for_the_gil_not_for_work(runs):
    """A thread pool of tiny tasks is GIL-bound: between tasks its workers mostly wait for
    the GIL to take the next one, which is contention; only the empty queue is idleness.
    Counting all time between tasks as idle gave gil_wait 0.002 against idle 0.87.

    How much of a worker's wait falls between its tasks (where it reads as idle once the
    gap is longer than the model's merge gap) is chance: two threads passing the GIL for
    tiny tasks run partly in 5 ms turns, partly in a ping-pong on every task. Over 40 runs
    gil_wait / idle ranged from 0.17 to 4.5, and one CI run gave 0.13; hence a bound that
    tells the old error (0.002) from every one of them."""
    states = report.run_summary(runs["tiny-threads"].model)["states"]
    assert states["gil_wait"] > 0.05 * states["idle"], states
