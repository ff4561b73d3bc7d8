"""Real pools in a real runner process, checked through the JSON contract."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from gilviz.core import report
from gilviz.core.measuring import machine as gp
from gilviz.core.running.session import Run, run_blocking
from gilviz.core.running.spec import build_spec
from tests.helpers import alive, run_cli, run_json, wait_for

SMALL = ["--size", "400000", "--hz", "20"]


def test_process_pool_json_has_the_design_fields():
    doc = run_json("run", "crunch", "--pool", "process", "--workers", "2", "--tasks", "4", *SMALL)
    assert set(doc) >= {"gilviz", "python", "machine", "runs"}
    assert set(doc["python"]) == {"version", "implementation", "gil_enabled", "build"}
    assert set(doc["machine"]) == {"cores_logical", "cores_usable", "cgroup_cpu_limit"}
    (run,) = doc["runs"]
    for key in (
        "pool",
        "pool_size",
        "workload",
        "tasks",
        "size",
        "wall_s",
        "cpu_s",
        "speedup",
        "parallelism",
        "gil",
        "latency_ms",
        "states",
        "workers",
        "error",
    ):
        assert key in run
    assert run["error"] is None and run["tasks_done"] == 4
    pids = {w["pid"] for w in run["workers"]}
    assert len(pids) == len(run["workers"]) == 2  # one pid per process worker
    assert all(w["pid"] == w["tid"] for w in run["workers"])
    assert sum(w["tasks"] for w in run["workers"]) == 4
    assert all(w["cpu_s"] > 0 and w["rss_bytes"] > 0 for w in run["workers"])
    assert run["parallelism"] == pytest.approx(run["cpu_s"] / run["wall_s"], rel=0.01)


def test_thread_pool_is_one_pid_many_threads():
    doc = run_json("run", "crunch", "--pool", "thread", "--workers", "3", "--tasks", "6", *SMALL)
    (run,) = doc["runs"]
    assert len({w["pid"] for w in run["workers"]}) == 1
    assert len({w["tid"] for w in run["workers"]}) == len(run["workers"]) >= 2
    assert sum(w["tasks"] for w in run["workers"]) == 6


def test_compare_shows_the_seeds_claim():
    if gp.cores_usable() < 2:
        pytest.skip("needs two usable cores")
    doc = run_json(
        "compare", "crunch", "--workers", "2", "--tasks", "4", "--size", "3000000", "--hz", "20"
    )
    runs = {r["pool"]: r for r in doc["runs"]}
    assert list(runs) == ["serial", "thread", "process"]
    assert runs["serial"]["speedup"] == 1.0
    # The seed's claim, by what was measured rather than by wall time (which depends on
    # whatever else the machine runs): the threads waited for the GIL, the processes did
    # not, and the processes' work ran in two processes. Of the time a worker had a core
    # or wanted the GIL (waiting for a core is left out: it follows whatever else the
    # machine runs), the threads spent a good part waiting for the GIL.
    thread, process = runs["thread"], runs["process"]
    assert thread["gil"]["contention"] > 0.05

    def gil_bound(run):
        st = run["states"]
        return st["gil_wait"] / ((st["gil_wait"] + st["running"]) or 1.0)

    assert gil_bound(thread) > 0.2, thread["states"]
    assert process["gil"]["contention"] is not None
    assert gil_bound(thread) > 2 * gil_bound(process), (thread["states"], process["states"])
    assert len({w["pid"] for w in process["workers"]}) == 2
    assert all(r["speedup"] is not None for r in runs.values())


def test_compare_text_table():
    out = run_cli("compare", "tiny", "--tasks", "50", "--pools", "serial,thread", "--hz", "0")
    assert out.returncode == 0, out.stderr
    assert "pool" in out.stdout and "speedup" in out.stdout
    assert "serial" in out.stdout and "thread" in out.stdout


def test_fetch_uses_a_local_server_and_threads_overlap_waits():
    doc = run_json("compare", "fetch", "--pools", "serial,thread", "--delay-ms", "100", "--hz", "0")
    runs = {r["pool"]: r for r in doc["runs"]}
    assert runs["serial"]["tasks_done"] == runs["thread"]["tasks_done"] == 10
    # Ten 100 ms waits: serial pays them in turn, ten threads at once.
    assert runs["thread"]["speedup"] > 3


def test_fetch_server_is_started_and_stopped():
    from gilviz.core.running.fetchserver import FetchServer

    with FetchServer(delay_s=0.01) as server:
        spec = build_spec("fetch", pool="thread", workers=4, tasks=8, params={"url": server.url})
        run = run_blocking(spec, sample_hz=0)
        assert server.requests == 8
    assert report.run_summary(run.model)["tasks_done"] == 8


def test_shared_counter_loses_updates_on_threads_not_on_processes():
    doc = run_json(
        "compare",
        "shared-counter",
        "--pools",
        "thread,process",
        "--workers",
        "2",
        "--tasks",
        "4",
        "--size",
        "300000",
        "--hz",
        "0",
    )
    thread, process = doc["runs"]
    assert thread["outcome"]["copies"] == 1
    assert thread["outcome"]["final"] <= thread["outcome"]["expected"]
    assert process["outcome"]["copies"] == 2
    assert process["outcome"]["final"] == 0  # the runner's own copy was never touched
    assert sum(process["outcome"]["per_process"]) == process["outcome"]["expected"]


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_start_methods(method):
    doc = run_json(
        "run",
        "crunch",
        "--pool",
        "process",
        "--start-method",
        method,
        "--workers",
        "2",
        "--tasks",
        "2",
        "--size",
        "1000",
        "--hz",
        "0",
    )
    (run,) = doc["runs"]
    assert run["error"] is None and run["start_method"] == method and run["tasks_done"] == 2


def test_pickle_cost_is_measured_for_process_pools_only():
    doc = run_json(
        "compare",
        "pickle-heavy",
        "--pools",
        "thread,process",
        "--workers",
        "2",
        "--tasks",
        "2",
        "--size",
        "100000",
        "--hz",
        "0",
    )
    thread, process = doc["runs"]
    assert thread["pickle"] is None
    assert process["pickle"]["args_bytes"] > 100_000 * 2
    assert process["pickle"]["results_bytes"] > 100_000 * 2
    assert process["pickle"]["args_s"] > 0 and process["pickle"]["results_s"] > 0


def test_user_workloads_by_module_and_by_path(tmp_path):
    path = tmp_path / "mywork.py"
    path.write_text(
        textwrap.dedent(
            """
            import os
            def work(n):
                return sum(range(n)) + os.getpid() * 0
            """
        )
    )
    for pool in ("thread", "process"):
        doc = run_json(
            "run",
            f"{path}:work",
            "--pool",
            pool,
            "--tasks",
            "3",
            "--size",
            "1000",
            "--workers",
            "2",
            "--hz",
            "0",
        )
        assert doc["runs"][0]["tasks_done"] == 3, pool
    env_run = run_json(
        "run", "json:dumps", "--args", "[1, 2]", "--pool", "serial", "--tasks", "2", "--hz", "0"
    )
    assert env_run["runs"][0]["tasks_done"] == 2


def test_a_raising_task_is_a_failed_run(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def boom(n):\n    raise ValueError('nope ' + str(n))\n")
    out = run_cli("run", f"{path}:boom", "--pool", "thread", "--size", "7", "--hz", "0")
    assert out.returncode == 1
    assert "raised ValueError: nope 7" in out.stdout
    assert "Traceback" not in out.stderr


def test_same_interpreter_via_python_flag():
    doc = run_json(
        "run",
        "crunch",
        "--pool",
        "process",
        "--python",
        sys.executable,
        "--workers",
        "2",
        "--tasks",
        "2",
        "--size",
        "1000",
        "--hz",
        "0",
    )
    assert doc["runs"][0]["error"] is None
    assert doc["python"]["version"] == gp.python_info()["version"]


def test_other_interpreter_path_with_pythonpath():
    # The base interpreter has no gilviz installed: the runner imports it from the path
    # gilviz passes in PYTHONPATH.
    base = os.path.join(sys.base_prefix, "bin", "python3")
    doc = run_json(
        "run",
        "crunch",
        "--pool",
        "thread",
        "--python",
        base,
        "--tasks",
        "2",
        "--size",
        "1000",
        "--hz",
        "0",
    )
    assert doc["runs"][0]["error"] is None


def test_segfault_in_process_pool_is_that_runs_error_and_next_run_works():
    doc = run_json(
        "compare",
        "segfault",
        "--pools",
        "process,thread",
        "--workers",
        "2",
        "--tasks",
        "2",
        "--size",
        "0",
        "--hz",
        "0",
    )
    process, thread = doc["runs"]
    assert "terminated abruptly" in process["error"] and "SIGSEGV" in process["error"]
    assert "killed by SIGSEGV" in thread["error"]
    again = run_json(
        "run", "crunch", "--pool", "process", "--tasks", "2", "--size", "1000", "--hz", "0"
    )
    assert again["runs"][0]["error"] is None


@pytest.mark.parametrize("pool", ["thread", "process", "serial"])
def test_stop_cancels_pending_tasks_and_ends_running_ones(pool):
    spec = build_spec("crunch", pool=pool, workers=2, tasks=20, size=10**10)
    run = Run(spec, sample_hz=0).start()
    wait_for(lambda: run.model.snapshot().workers, what="a task to start")
    pids = [w.pid for w in run.model.snapshot().workers] + [run.proc.pid]
    run.stop()
    assert run.done
    summary = report.run_summary(run.model)
    # Exactly "stopped": the running tasks saw the stop and ended within the grace period
    # (in a process pool, through each worker's watcher); none had to be killed.
    assert summary["error"] == "stopped"
    assert summary["tasks_done"] < 20
    wait_for(lambda: not alive(pids), timeout=10, what="runner and workers to exit")


def test_bad_user_workload_is_exit_2_one_line(tmp_path):
    for target in ("no_such_mod_q:f", f"{tmp_path}/nofile.py:f", "json:nope"):
        out = run_cli("run", target, "--pool", "thread", "--hz", "0")
        assert out.returncode == 2, target
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gilviz: "), out.stderr
