"""Processes and threads that end between two reads are a normal event, never an error:
thousands of short-lived threads and processes sampled as fast as the sampler goes, short
runs one after another, and a watched program that churns; nothing may raise, log a failed
tick, or print a traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from gilviz.core.measuring import gilsym
from gilviz.core.measuring.sampler import make_sampler
from gilviz.core.measuring.samples import ThreadRef
from gilviz.core.running.session import Run
from gilviz.core.running.spec import build_spec
from tests.helpers import run_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

CHURN = textwrap.dedent("""
    import os, sys, threading
    def short():
        sum(range(2000))
    n = int(sys.argv[1])
    i = 0
    while n == 0 or i < n:
        i += 1
        ts = [threading.Thread(target=short) for _ in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
        if i % 10 == 0:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
""")


def tree_threads(root: int) -> list[tuple[int, int]]:
    try:
        procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return []
    out = []
    for p in procs:
        try:
            out += [(p.pid, int(t)) for t in os.listdir(f"/proc/{p.pid}/task")]
        except OSError:
            continue
    return out


def test_the_sampler_takes_threads_and_processes_that_vanish_mid_read():
    child = subprocess.Popen([sys.executable, "-c", CHURN, "0"])  # churns until killed
    sampler = make_sampler()
    wids: dict[tuple[int, int], int] = {}
    deadline = time.monotonic() + 120
    try:
        # Until it has met many short-lived threads (each loop is a tick over all of them).
        while len(wids) < 500 and time.monotonic() < deadline:
            assert child.poll() is None
            found = tree_threads(child.pid)
            for key in found:
                wids.setdefault(key, len(wids))
            sampler.set_targets([ThreadRef(wids[k], *k) for k in found])
            sampler.tick()  # raises if a vanished thread or process is taken for an error
            for pid in {pid for pid, _ in found}:
                try:
                    gilsym.locate_gil(pid)
                except gilsym.GilNotFound:
                    pass  # gone, or a fork not yet CPython: a stated reason, not a crash
    finally:
        child.kill()
        child.wait()
        sampler.close()
    assert len(wids) >= 500


def test_short_runs_one_after_another_log_no_failed_tick(caplog):
    caplog.set_level(logging.WARNING)
    for i in range(40):
        pool = ("thread", "process", "serial")[i % 3]
        spec = build_spec("tiny", pool=pool, workers=2, tasks=2, size=1, heartbeat=i % 2 == 0)
        run = Run(spec, sample_hz=500).start()
        assert run.wait(60), "a short run did not end"
        assert run.model.error() is None, run.model.error()
    assert [r.getMessage() for r in caplog.records] == []


def test_a_watched_program_that_churns_leaves_stderr_clean():
    out = run_cli("watch", "--json", "--hz", "200", "--", sys.executable, "-c", CHURN, "300")
    assert out.returncode == 0
    assert out.stderr == ""
