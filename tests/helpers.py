"""Test helpers: run the real CLI; wait for conditions with deadlines (never sleep-and-hope)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent


def gilviz_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "gilviz", *args]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        gilviz_cmd(*args), capture_output=True, text=True, timeout=timeout, check=False
    )


def run_json(*args: str, timeout: float = 120) -> dict:
    out = run_cli(*args, "--json", timeout=timeout)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def wait_for(predicate: Callable[[], object], timeout: float = 30, what: str = "condition"):
    """Poll until predicate() is truthy; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def finish(proc: subprocess.Popen, timeout: float = 30) -> tuple[str, str]:
    """proc.communicate(), failing with every thread's stack if gilviz hangs: SIGUSR1 makes
    it dump them to stderr (faulthandler), so a rare hang says where it was."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        try:
            _, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        pytest.fail(f"gilviz did not exit within {timeout} s; its threads:\n{err}")


def write_pipe_holder(folder: Path) -> tuple[str, Path]:
    """A user workload (``path.py:work``, size = seconds to sleep, never checking the cancel
    flag) whose task starts a helper in its own session that inherits the runner's fds, the
    event pipe among them: the runner can end, but its pipe stays open. The helper's pid is
    written to the returned file; kill it with :func:`kill_pidfile`."""
    pidfile = folder / "helper.pid"
    tmp = folder / "helper.pid.tmp"
    path = folder / "holder.py"
    path.write_text(
        "import os, subprocess, sys, time\n"
        "\n"
        "def work(n):\n"
        "    helper = subprocess.Popen(\n"
        "        [sys.executable, '-c', 'import time; time.sleep(300)'],\n"
        "        close_fds=False, start_new_session=True, stdin=subprocess.DEVNULL,\n"
        "        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,\n"
        "    )\n"
        f"    with open({str(tmp)!r}, 'w') as f:\n"
        "        f.write(str(helper.pid))\n"
        f"    os.replace({str(tmp)!r}, {str(pidfile)!r})\n"
        "    time.sleep(n)\n"
        "    return n\n"
    )
    return f"{path}:work", pidfile


def kill_pidfile(pidfile: Path) -> None:
    if pidfile.exists():
        try:
            psutil.Process(int(pidfile.read_text())).kill()
        except psutil.Error:
            pass
