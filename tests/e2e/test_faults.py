"""Faults in the user's work or around gilviz: a clear message, nothing left behind."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from gilviz.core import report
from gilviz.core.running.session import Run
from gilviz.core.running.spec import build_spec
from tests.helpers import alive, descendants, finish, gilviz_cmd, run_cli, wait_for

pytestmark = pytest.mark.e2e
WORK = str(Path(__file__).with_name("faultwork.py"))


@pytest.mark.parametrize("pool", ["process", "thread"])
def test_worker_os_exit(pool):
    out = run_cli("run", f"{WORK}:exit_now", "--pool", pool, "--workers", "2", "--tasks", "2",
                  "--size", "7", "--hz", "0", "--json")  # fmt: skip
    assert out.returncode == 1
    err = json.loads(out.stdout)["runs"][0]["error"]
    if pool == "process":
        assert "terminated abruptly" in err and "exit code 7" in err
    else:
        assert "exited with code 7" in err


@pytest.mark.parametrize("pool", ["process", "thread"])
def test_task_that_never_returns_is_killed_on_stop(pool):
    spec = build_spec(f"{WORK}:spin_forever", pool=pool, workers=2, tasks=2, size=0)
    run = Run(spec, sample_hz=0).start()
    wait_for(lambda: len(run.model.snapshot().workers) == 2, what="both workers busy")
    pids = {w.pid for w in run.model.snapshot().workers} | {run.proc.pid}
    run.stop()
    assert run.done
    assert report.run_summary(run.model)["error"].startswith("stopped")
    wait_for(lambda: not alive(list(pids)), timeout=10, what="spinning workers to be killed")


def test_unpicklable_result_is_the_tasks_error():
    out = run_cli("run", f"{WORK}:unpicklable", "--pool", "process", "--tasks", "1",
                  "--size", "0", "--hz", "0", "--json")  # fmt: skip
    assert out.returncode == 1
    err = json.loads(out.stdout)["runs"][0]["error"]
    assert "raised TypeError" in err and "pickle" in err


def test_huge_result_crosses_the_process_boundary():
    doc = json.loads(run_cli("run", f"{WORK}:huge", "--pool", "process", "--tasks", "2",
                             "--workers", "2", "--size", str(64 << 20), "--hz", "0",
                             "--json").stdout)  # fmt: skip
    run = doc["runs"][0]
    assert run["error"] is None
    assert run["pickle"]["results_bytes"] >= 2 * (64 << 20)


@pytest.mark.parametrize("pool", ["process", "thread"])
def test_workers_output_goes_to_the_log_not_the_terminal(pool):
    out = run_cli(
        "run",
        f"{WORK}:chatty",
        "--pool",
        pool,
        "--tasks",
        "2",
        "--size",
        "0",
        "--hz",
        "0",
        "--json",
    )
    assert out.returncode == 0
    json.loads(out.stdout)  # stdout is only the JSON document
    # Not on the terminal: the last lines are kept, in the JSON, as what the run printed.
    assert "says hello" not in out.stderr
    # (Workers write at the same time: their lines may run together, as in any log.)
    printed = "\n".join(json.loads(out.stdout)["runs"][0]["output"])
    assert "chatty says hello on stdout" in printed and "chatty says hello on stderr" in printed


def test_workers_output_is_in_the_runner_log(tmp_path):
    log = tmp_path / "runner.log"
    spec = build_spec(f"{WORK}:chatty", pool="process", workers=1, tasks=1, size=0)
    run = Run(spec, sample_hz=0, log_path=str(log)).start()
    assert run.wait(60)
    text = log.read_text()
    assert "chatty says hello on stdout" in text and "chatty says hello on stderr" in text


def test_ctrl_c_twice_quickly_still_leaves_nothing():
    proc = subprocess.Popen(
        gilviz_cmd("run", "crunch", "--pool", "process", "--workers", "2", "--tasks", "40",
                   "--size", "10000000000", "--hz", "20"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    kids = wait_for(lambda: len(descendants(proc.pid)) >= 3 and descendants(proc.pid),
                    timeout=60, what="workers")  # fmt: skip
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = finish(proc)
    assert proc.returncode == 128 + signal.SIGINT
    assert "Traceback" not in err
    wait_for(lambda: not alive([k.pid for k in kids]), timeout=15, what="children to exit")


@pytest.mark.parametrize("pool", ["process", "thread"])
def test_signals_during_the_stop_do_not_cut_it_short(pool):
    # A task that ignores the stop holds it for the grace period, so the signals Python
    # handles after the first one land while gilviz is stopping. They are ignored: the
    # first one handled decides the exit (Python handles pending ones in signal order).
    proc = subprocess.Popen(
        gilviz_cmd("run", f"{WORK}:spin_forever", "--pool", pool, "--workers", "2",
                   "--tasks", "2", "--size", "0", "--hz", "20"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    need = 3 if pool == "process" else 1
    kids = wait_for(lambda: len(descendants(proc.pid)) >= need and descendants(proc.pid),
                    timeout=60, what="workers")  # fmt: skip
    sent = (signal.SIGINT, signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in sent:
        proc.send_signal(sig)
    _, err = finish(proc)
    assert proc.returncode > 128, (proc.returncode, err)  # exited on its own, not killed
    first = signal.Signals(proc.returncode - 128)
    assert first in sent
    said = "interrupted" if first == signal.SIGINT else first.name
    assert err.strip() == f"gilviz: {said}; runs stopped"
    wait_for(lambda: not alive([k.pid for k in kids]), timeout=15, what="children to exit")


def test_fetch_server_port_taken_is_exit_2():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = run_cli("run", "fetch", "--pool", "thread", "--port", str(port), "--hz", "0")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"gilviz: cannot start the local HTTP server on 127.0.0.1:{port}: Address already in use"
    )
