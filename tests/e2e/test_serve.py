"""`gilviz serve` puts the app in a browser page, bound to loopback, and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request

import psutil
import pytest

from gilviz.tui.serve import end_sessions
from tests.helpers import alive, descendants, finish, free_port, gilviz_cmd, wait_for

pytestmark = pytest.mark.e2e


def test_serve_answers_on_loopback_and_stops_on_sigterm():
    port = free_port()
    proc = subprocess.Popen(gilviz_cmd("serve", "--port", str(port)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip

    def page():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                return r.read().decode()
        except OSError:
            return None

    html = wait_for(page, timeout=60, what="the served page")
    assert "<html" in html and "textual" in html.lower()
    kids = [k.pid for k in descendants(proc.pid)]
    proc.send_signal(signal.SIGTERM)
    finish(proc)
    wait_for(lambda: not alive([proc.pid, *kids]), timeout=15, what="serve to exit")


def _gilviz(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_DRIVER"}
    env.update(env_extra or {})
    return subprocess.run(gilviz_cmd(*args), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=env, timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize(
    "driver",
    [None, "textual.drivers.headless_driver:HeadlessDriver", "no.such.module:Driver"],
)
@pytest.mark.parametrize("command", [[], ["talk"]])
def test_the_tui_without_a_terminal_or_a_web_driver_says_so(command, driver):
    out = _gilviz(*command, env_extra={"TEXTUAL_DRIVER": driver} if driver else None)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "gilviz: the TUI needs a terminal; use gilviz run or gilviz compare (--json) instead"
    ]
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["run", "crunch"], "serve runs the app (the dashboard, talk or replay), not 'run crunch'"),
        (["serve"], "not 'serve'"),
        (["replay", "x.jsonl", "--json"], "not 'replay x.jsonl --json'"),
        (["--", "--preset", "nope"], "unknown preset 'nope'"),
        (["talk", "no-such-deck.toml"], "no-such-deck.toml"),
        (["--", "--fps", "0"], "--fps"),
    ],
)
def test_serve_checks_the_apps_arguments_once_before_serving(args, says):
    out = _gilviz("serve", "--port", str(free_port()), *args)
    assert out.returncode == 2
    assert len(out.stderr.splitlines()) == 1 and says in out.stderr, out.stderr


def test_a_session_that_ignores_sigterm_is_killed_with_its_children():
    # A stand-in for a hung session: ignores SIGTERM and has a child of its own.
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        session = psutil.Process(proc.pid)
        family = [proc.pid, *(k.pid for k in descendants(proc.pid))]
        assert len(family) == 2
        asyncio.run(end_sessions([session], grace_s=0.5))
        wait_for(lambda: not alive(family), timeout=15, what="the session and its child to end")
    finally:
        proc.kill()
        proc.wait()
