"""``gilviz watch -- CMD`` and ``gilviz attach PID`` on real programs: every thread of every
CPython process of the tree, the program's exit code and output passed through, the target of
an attach left running and unchanged, and bad cases refused in one line with exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import alive, finish, gilviz_cmd, run_cli, wait_for

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
pytestmark = linux_only

CRUNCH = """
def crunch(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
"""


def program(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(CRUNCH + textwrap.dedent(body))
    return path


def watch_json(*cmd: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = run_cli("watch", "--json", "--hz", "50", "--", *cmd)
    assert "Traceback" not in out.stderr, out.stderr
    return out, json.loads(out.stdout)


def test_a_thread_pool_on_cpu_work_waits_for_the_gil(tmp_path):
    path = program(tmp_path, "pool.py", """
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(3, thread_name_prefix="cruncher") as ex:
            list(ex.map(crunch, [4_000_000] * 6))
        print("the program's own output")
    """)  # fmt: skip
    out, doc = watch_json(sys.executable, str(path))
    assert out.returncode == 0
    assert "the program's own output" in out.stderr  # not in the JSON's stdout
    (run,) = doc["runs"]
    assert run["pool"] == "watch" and run["error"] is None
    assert run["gil"]["contention"] > 0.2
    assert "no task events" in run["gil"]["method"]
    assert run["latency_ms"]["p99"] is None and "no heartbeat" in run["latency_ms"]["why"]
    assert run["states"]["idle"] == 0  # idle cannot be known without task events
    (proc,) = run["processes"]
    assert str(path) in proc["command"] and proc["gil_contention"] > 0.2
    busy = [w for w in run["workers"] if w["states"]["gil_wait"] > 0.2]
    assert len(busy) >= 3 and all(w["pid"] == proc["pid"] for w in run["workers"])
    assert all(w["name"] for w in run["workers"])


def test_threads_on_a_user_lock_wait_for_the_lock_not_the_gil(tmp_path):
    path = program(tmp_path, "lock.py", """
        import threading, time
        lock = threading.Lock()
        def hold():
            for _ in range(20):
                with lock:
                    time.sleep(0.05)
        ts = [threading.Thread(target=hold) for _ in range(3)]
        for t in ts: t.start()
        for t in ts: t.join()
    """)  # fmt: skip
    out, doc = watch_json(sys.executable, str(path))
    assert out.returncode == 0
    (run,) = doc["runs"]
    workers = [w for w in run["workers"] if w["tid"] != w["pid"]]
    assert len(workers) == 3
    total = {k: sum(w["states"][k] for w in workers) for k in ("lock_wait", "gil_wait")}
    assert total["lock_wait"] > 2 * total["gil_wait"]


def test_a_multiprocessing_pool_shows_every_worker_process(tmp_path):
    path = program(tmp_path, "mp.py", """
        import multiprocessing
        if __name__ == "__main__":
            with multiprocessing.get_context("fork").Pool(2) as pool:
                pool.map(crunch, [3_000_000] * 4)
    """)  # fmt: skip
    out, doc = watch_json(sys.executable, str(path))
    assert out.returncode == 0
    (run,) = doc["runs"]
    pids = {p["pid"] for p in run["processes"]}
    assert len(pids) >= 3  # the parent and its two workers
    assert {w["pid"] for w in run["workers"]} <= pids
    workers = [p for p in run["processes"] if p["pid"] != run["processes"][0]["pid"]]
    assert all(p["gil_contention"] is not None and p["gil_contention"] < 0.2 for p in workers)


def test_threads_that_come_and_go_are_all_seen(tmp_path):
    path = program(tmp_path, "churn.py", """
        import threading
        for _ in range(8):
            t = threading.Thread(target=crunch, args=(600_000,))
            t.start()
            t.join()
    """)  # fmt: skip
    out, doc = watch_json(sys.executable, str(path))
    assert out.returncode == 0
    (run,) = doc["runs"]
    assert len({w["tid"] for w in run["workers"]}) >= 3  # main and several short threads


def test_a_program_that_exits_at_once_and_its_exit_code(tmp_path):
    out, doc = watch_json(sys.executable, "-c", "pass")
    assert out.returncode == 0 and doc["runs"][0]["error"] is None
    out, doc = watch_json(sys.executable, "-c", "import sys; print('bye'); sys.exit(3)")
    assert out.returncode == 3
    assert "exited with code 3" in doc["runs"][0]["error"] and "bye" in out.stderr


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
def test_a_shell_script_that_starts_python(tmp_path):
    path = program(tmp_path, "inner.py", """
        import threading
        ts = [threading.Thread(target=crunch, args=(2_000_000,)) for _ in range(2)]
        for t in ts: t.start()
        for t in ts: t.join()
    """)  # fmt: skip
    script = tmp_path / "run.sh"
    script.write_text(f'#!/bin/sh\necho starting\n"{sys.executable}" "{path}"\necho done\n')
    script.chmod(0o755)
    out, doc = watch_json(str(script))
    assert out.returncode == 0
    (run,) = doc["runs"]
    # Only the CPython process is watched, not the shell.
    assert [p["command"] for p in run["processes"]] == [f"{sys.executable} {path}"]
    assert len(run["workers"]) >= 3


def start_target(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """A CPython program that crunches on two threads until told to stop, then writes its
    own result: what it does must be the same whether gilviz looked at it or not."""
    flag = tmp_path / "stop"
    path = program(tmp_path, "target.py", f"""
        import os, threading, time
        def work():
            while not os.path.exists({str(flag)!r}):
                crunch(200_000)
        ts = [threading.Thread(target=work, name="busy") for _ in range(2)]
        for t in ts: t.start()
        for t in ts: t.join()
        print("target finished")
        raise SystemExit(7)
    """)  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for(lambda: len(os.listdir(f"/proc/{proc.pid}/task")) == 3, what="its threads")
    return proc, flag


def test_attach_watches_and_leaves_the_target_unchanged(tmp_path):
    proc, flag = start_target(tmp_path)
    try:
        out = run_cli("attach", str(proc.pid), "--duration", "1", "--json")
        assert out.returncode == 0, out.stderr
        assert "Traceback" not in out.stderr
        (run,) = json.loads(out.stdout)["runs"]
        assert run["pool"] == "watch" and run["label"].startswith("attach")
        busy = [w for w in run["workers"] if w["tid"] != proc.pid]
        assert len(busy) == 2
        for w in busy:  # computing, waiting for the GIL or for a core: never blocked elsewhere
            st = w["states"]
            assert st["running"] + st["gil_wait"] + st["runnable"] > 0.8, st
        assert sum(w["states"]["gil_wait"] for w in busy) > 0.2
        assert alive([proc.pid]) == [proc.pid]  # detached: still running
        flag.write_text("")
        stdout, _ = finish(proc)
        assert proc.returncode == 7 and stdout.strip() == "target finished"
    finally:
        flag.write_text("")
        proc.kill()


def test_attach_to_what_cannot_be_watched_is_one_line_and_exit_2():
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        out = run_cli("attach", str(sleeper.pid), "--json")
        assert out.returncode == 2 and "not a CPython process" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    finally:
        sleeper.kill()
        sleeper.wait()
    out = run_cli("attach", str(sleeper.pid), "--json")  # gone now
    assert out.returncode == 2 and f"no process {sleeper.pid}" in out.stderr
    out = run_cli("watch", "--json")
    assert out.returncode == 2 and "after --" in out.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to start a process as another user")
def test_attach_without_permission_says_why(tmp_path):
    setpriv, system_python = shutil.which("setpriv"), "/usr/bin/python3"
    if setpriv is None or not os.path.exists(system_python):
        pytest.skip("needs setpriv and a system python3 another user can run")
    site = next(Path(sys.prefix).glob("lib/python3*/site-packages"), None)
    if site is None or f"{sys.version_info.major}.{sys.version_info.minor}" not in site.parent.name:
        pytest.skip("needs this venv's site-packages")
    check = subprocess.run(
        [system_python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True,
    )  # fmt: skip
    if check.stdout.strip() != str(tuple(sys.version_info[:2])):
        pytest.skip("the system python3 is another version than this venv's")
    proc, flag = start_target(tmp_path)
    try:
        src = str(Path(__file__).resolve().parents[2] / "src")
        out = subprocess.run(
            [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "env",
             f"PYTHONPATH={src}:{site}", system_python, "-m", "gilviz", "attach",
             str(proc.pid), "--json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 2, out.stderr
        line = out.stderr.strip()
        assert len(line.splitlines()) == 1 and "belongs to user 0" in line and "sudo" in line
    finally:
        flag.write_text("")
        finish(proc)


def test_watch_on_the_dashboard_needs_a_terminal():
    out = subprocess.run(
        gilviz_cmd("watch", "--", sys.executable, "-c", "pass"),
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "needs a terminal" in out.stderr
