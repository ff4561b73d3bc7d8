"""`gilviz serve` in a real browser: Debian's Chromium, headless, driven by Playwright.

Each browser connection is a session: the server's child ``python -m gilviz``, whose runs
are its children (the runner, and a process pool's workers below it). The tests drive the
app through the page's keyboard, read what it drew from the websocket frames, and check by
pid that quitting, closing the tab, SIGTERM and even SIGKILL to the server leave no process.
"""

from __future__ import annotations

import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from gilviz.tui.screens.dashboard import compact
from tests.browser import chromium, why_no_browser
from tests.helpers import alive, descendants, finish, free_port, gilviz_cmd, wait_for

pytestmark = pytest.mark.e2e

DECK = str(Path(__file__).with_name("serve-deck.toml"))  # one run that lasts until stopped


@pytest.fixture
def browser(tmp_path):
    reason = why_no_browser()
    if reason:
        pytest.skip(reason)
    with chromium(tmp_path / "chromium-profile") as b:
        b.failure_shot = tmp_path / "page.png"
        yield b
    assert b.outside == [], "the page asked for something outside the machine"


@dataclass
class Served:
    proc: subprocess.Popen
    url: str
    known: set[int]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def new_session(self) -> psutil.Process:
        """The session the last connection started: a new child of the server."""

        def fresh():
            kids = [k for k in descendants_1(self.proc.pid) if k.pid not in self.known]
            return kids[0] if kids else None

        session = wait_for(fresh, timeout=60, what="a session for the new tab")
        self.known.add(session.pid)
        return session


def descendants_1(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []


@contextmanager
def served(tmp_path: Path, *app_args: str) -> Iterator[Served]:
    """``gilviz serve`` on a free loopback port; stopped (and checked) at the end."""
    port = free_port()
    log_path = tmp_path / "serve.log"  # a file, not a pipe: the server logs every request
    command = gilviz_cmd("serve", "--port", str(port), *app_args)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    srv = Served(proc, f"http://127.0.0.1:{port}/", set(), log_path)
    try:

        def up():
            try:
                with urllib.request.urlopen(srv.url, timeout=5) as r:
                    return r.status == 200
            except OSError:
                return None

        wait_for(up, timeout=60, what="gilviz serve to answer")
        yield srv
    finally:
        everything = [proc.pid, *srv.known, *(k.pid for k in descendants(proc.pid))]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        finish(proc)
        left = wait_for_gone(everything)
        assert not left, f"left behind by gilviz serve: {left}"
        assert "Application failed to start" not in srv.log(), srv.log()[-3000:]


def wait_for_gone(pids: list[int], timeout: float = 30) -> list[int]:
    try:
        wait_for(lambda: not alive(pids), timeout=timeout, what=f"pids {pids} to end")
    except pytest.fail.Exception:
        return alive(pids)
    return []


def family(session: psutil.Process) -> list[int]:
    """The session and every process below it (runner, workers), by pid."""
    return [session.pid, *(p.pid for p in descendants(session.pid))]


def wait_for_workers(session: psutil.Process, workers: int) -> list[int]:
    """Waits until the session runs a runner with ``workers`` processes under it."""

    def ready():
        kids = descendants_1(session.pid)
        return len(kids) == 1 and len(descendants_1(kids[0].pid)) >= workers

    def tree() -> str:
        return "; ".join(f"{p.pid} (child of {p.ppid()})" for p in descendants(session.pid))

    try:
        wait_for(ready, timeout=60, what=f"a runner with {workers} worker processes")
    except pytest.fail.Exception:
        pytest.fail(f"no runner with {workers} workers under session {session.pid}: {tree()}")
    return family(session)


def test_dashboard_keys_race_and_a_run_then_quit_from_the_browser(browser, tmp_path):
    with served(tmp_path, "--", "--preset", "sleep-io") as srv:
        tab = browser.open(srv.url)
        tab.wait_for_text("sleep-io", "p thread pool", "start/stop")
        session = srv.new_session()

        # Each key waits for words that only the screen it opens draws ("+/-" is the
        # dashboard's): an Escape followed at once by a key would read as alt+key.
        tab.press("?", then=("Everywhere", "Dashboard"))
        tab.press("Escape", then=("+/-",))
        tab.press("f", then=("multiprocessing", "measured here"))
        tab.press("d", then=("+/-",))
        tab.press("r", then=("speedup vs serial",))
        # sleep-io's three short runs, one after the other, then the verdict: threads and
        # processes both overlap the sleeps, so the two fastest may be "about the same".
        tab.wait_until(
            lambda: "faster than" in (t := tab.text()) or " about the same (" in t,
            60,
            "the race's verdict",
        )
        wait_for(lambda: not descendants(session.pid), what="the race's runners to end")
        tab.press("Escape", then=("+/-",))

        # The process pool (p: thread → process), each task an hour long.
        tab.press("p", then=("p process pool",))
        tab.press(*[">"] * 15, then=(compact(100 * 2**15),))
        tab.press("s", then=("a long run",))  # the estimate from the race's sleeps: s again
        tab.press("s", then=("● running",))
        running = wait_for_workers(session, 4)
        # Stop: the runner and its workers end, the session stays; the next s starts again
        # once the dashboard has seen the stop (before, s would stop the stopping run).
        tab.press("s", then=("● stopped",))
        assert not wait_for_gone(running[1:])
        assert alive([session.pid])
        tab.press("s", then=("● running",))
        running = wait_for_workers(session, 4)

        tab.press("q")
        tab.wait_until(tab.closed, timeout=60, what="the page to say the session ended")
        assert not wait_for_gone(running)
        assert alive([srv.proc.pid])


def test_talk_closing_the_tab_and_sigterm_end_every_session(browser, tmp_path):
    with served(tmp_path, "talk", DECK) as srv:
        tab = browser.open(srv.url)
        tab.wait_for_text("Each task sleeps for an hour")
        running = wait_for_workers(srv.new_session(), 2)  # a talk step starts its run
        tab.page.close()
        assert not wait_for_gone(running)

        sessions = []
        for _ in range(2):
            t = browser.open(srv.url)
            t.wait_for_text("Each task sleeps for an hour")
            sessions.append(wait_for_workers(srv.new_session(), 2))
        srv.proc.send_signal(signal.SIGTERM)
        finish(srv.proc)
        assert srv.proc.returncode == 0, srv.log()[-3000:]
        assert "Traceback" not in srv.log()
        assert not wait_for_gone([pid for s in sessions for pid in s])


def test_sessions_end_when_the_server_is_killed(browser, tmp_path):
    with served(tmp_path, "talk", DECK) as srv:
        tab = browser.open(srv.url)
        tab.wait_for_text("Each task sleeps for an hour")
        running = wait_for_workers(srv.new_session(), 2)
        srv.proc.kill()  # no chance to stop anything: each session follows it on its own
        finish(srv.proc)
        assert not wait_for_gone(running)


def test_a_page_with_no_outside_request_and_the_local_font(browser, tmp_path):
    with served(tmp_path) as srv:
        tab = browser.open(srv.url)
        tab.wait_for_text("start/stop")
        srv.new_session()
        fonts = tab.page.evaluate(
            "() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)"
        )
        assert any("Roboto Mono" in f for f in fonts), fonts
        assert browser.outside == []
