"""Whatever ends gilviz, no runner or pool process is left behind (checked by pid)."""

from __future__ import annotations

import signal
import subprocess

import pytest

from tests.helpers import alive, descendants, finish, gilviz_cmd, wait_for

pytestmark = pytest.mark.e2e

LONG = ["--tasks", "50", "--size", "10000000000", "--hz", "20"]


def _start(pool: str, *extra: str) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen(
        gilviz_cmd("run", "crunch", "--pool", pool, "--workers", "2", *LONG, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # signals reach gilviz only, as `kill PID` would
    )
    want = 3 if pool == "process" else 1  # runner (+ two workers)

    def workers_up():
        kids = descendants(proc.pid)
        busy = [k for k in kids if k.cpu_times().user > 0.05]
        return kids if len(kids) >= want and busy else None

    kids = wait_for(workers_up, timeout=60, what=f"{pool} workers to be running")
    return proc, [k.pid for k in kids]


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGTERM, 128 + 15), (signal.SIGHUP, 128 + 1), (signal.SIGINT, 128 + 2)],
    ids=["SIGTERM", "SIGHUP", "SIGINT"],
)
@pytest.mark.parametrize("pool", ["process", "thread"])
def test_signal_stops_runs_and_leaves_nothing(pool, sig, code):
    proc, kids = _start(pool)
    proc.send_signal(sig)
    out, err = finish(proc)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("gilviz: ")
    wait_for(lambda: not alive(kids), timeout=15, what=f"children {kids} to exit")


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_killed_gilviz_leaves_no_orphans(method):
    proc, kids = _start("process", "--start-method", method)
    proc.kill()
    proc.wait(timeout=10)
    # Nobody is left to clean up: the runner and workers must notice on their own.
    wait_for(lambda: not alive(kids), timeout=15, what=f"orphans {kids} to exit")


def test_killed_gilviz_with_thread_pool_leaves_no_runner():
    proc, kids = _start("thread")
    proc.kill()
    proc.wait(timeout=10)
    wait_for(lambda: not alive(kids), timeout=15, what=f"runner {kids} to exit")


def test_killed_runner_is_reported_and_workers_go():
    proc, kids = _start("process")
    runner = min(kids)  # the runner is started first
    subprocess.run(["kill", "-KILL", str(runner)], check=True)
    out, err = finish(proc)
    assert proc.returncode == 1
    assert "the runner process was killed by SIGKILL" in out
    wait_for(lambda: not alive(kids), timeout=15, what=f"workers {kids} to exit")
