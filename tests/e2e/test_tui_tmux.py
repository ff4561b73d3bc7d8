"""The real ``gilviz`` in a real terminal (tmux): start a preset with keys, read the screen,
quit, and check by pid that nothing is left behind and the terminal is restored.

Every wait polls ``tmux capture-pane`` against a deadline; nothing sleeps and hopes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid

import psutil
import pytest

from tests.helpers import ROOT, alive, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


class Tmux:
    """One private tmux server with one pane running ``gilviz`` under a shell."""

    def __init__(self, tmp_path, width: int = 100, height: int = 30, args: str = "") -> None:
        self.socket = f"gilviz-test-{uuid.uuid4().hex[:8]}"
        self.name = "gv"
        env = {
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "TERM": "tmux-256color",
        }
        env_args = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
        # The pane waits for Enter before starting gilviz, so that gilviz starts once the
        # pane has its final size (a detached session is 80x24 for a moment).
        # (unset COLUMNS/LINES: a tmux server started without a terminal may export 80x24)
        cmd = (
            f"read _go; unset COLUMNS LINES; cd {ROOT} && {sys.executable} -m gilviz {args}; "
            "echo EXIT=$?; sleep 60"
        )
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                  *env_args, "sh", "-c", cmd)  # fmt: skip
        self.shell = int(self.tmux("list-panes", "-t", self.name, "-F", "#{pane_pid}").split()[0])
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        size = f"{width}x{height}"
        wait_for(
            lambda: (
                self.tmux(
                    "display-message", "-p", "-t", self.name, "#{pane_width}x#{pane_height}"
                ).strip()
                == size
            ),  # fmt: skip
            timeout=10,
            what=f"the pane to be {size}",
        )
        self.keys("Enter")

    def tmux(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-t", self.name, "-p")

    def wait_text(self, text: str, timeout: float = 30) -> str:
        return wait_for(
            lambda: self.screen() if text in self.screen() else None,
            timeout=timeout,
            what=f"{text!r} on screen; last screen:\n{self.screen()}",
        )

    def keys(self, *keys: str) -> None:
        for k in keys:
            self.tmux("send-keys", "-t", self.name, k)

    def alternate_screen(self) -> bool:
        return self.tmux("display-message", "-p", "-t", self.name, "#{alternate_on}").strip() == "1"

    def gilviz_pid(self) -> int:
        def find():
            try:
                kids = psutil.Process(self.shell).children()
            except psutil.NoSuchProcess:
                return None
            return next((p.pid for p in kids if "python" in p.name().lower()), None)

        return wait_for(find, timeout=15, what="the gilviz process")

    def close(self) -> None:
        self.tmux("kill-server")
        if self.socket_path:
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)


@pytest.fixture
def term(tmp_path):
    sessions: list[Tmux] = []

    def make(**kw) -> Tmux:
        t = Tmux(tmp_path, **kw)
        sessions.append(t)
        return t

    yield make
    for t in sessions:
        t.close()


def start_threads_preset(t: Tmux) -> tuple[int, list[int]]:
    """Open the dashboard, go to crunch-threads, start it; return gilviz's pid and its
    children (the runner) while the run goes on."""
    t.wait_text("crunch-serial")  # the first preset of the built-in deck
    pid = t.gilviz_pid()
    t.keys("]")
    t.wait_text("[crunch-threads]")
    t.keys("T", "T", "T")  # 4 -> 32 tasks: a run that lasts while we look
    t.keys("s")
    t.wait_text("● running")
    kids = wait_for(
        lambda: [p.pid for p in psutil.Process(pid).children(recursive=True)],
        what="the runner process",
    )
    t.wait_text("GIL contention")
    return pid, kids


def test_start_a_preset_with_keys_then_quit_leaves_nothing(term):
    t = term()
    pid, kids = start_threads_preset(t)
    # Four worker rows (w0..w3), the pool, and every figure naming its method: waited for
    # together, as a capture can catch a frame half drawn.
    wait_for(
        lambda: (
            (s := t.screen())
            and "w3 " in s
            and "thread ×4" in s
            and ("/proc sampling" in s or "n/a" in s)
        ),
        what="the dashboard of a thread ×4 run",
    )
    t.keys("q")
    t.wait_text("EXIT=0", timeout=20)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    wait_for(lambda: not alive(kids), timeout=10, what="the runner and workers to be gone")
    assert not t.alternate_screen()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_during_a_run_exits_cleanly(term, sig):
    t = term()
    pid, kids = start_threads_preset(t)
    os.kill(pid, sig)
    t.wait_text(f"EXIT={128 + sig}", timeout=20)
    wait_for(lambda: not alive(kids), timeout=10, what="the runner and workers to be gone")
    assert not t.alternate_screen()  # terminal restored: back on the main screen


def test_terminal_gone_ends_gilviz_and_its_runs(term):
    """An SSH drop or a killed tmux: the terminal hangs up (SIGHUP, then SIGCONT) and can
    no longer be written to. gilviz must stop its runs and exit, not hang."""
    t = term()
    pid, kids = start_threads_preset(t)
    t.close()  # kill the tmux server: the pane's terminal is gone
    wait_for(lambda: not alive([pid, *kids]), timeout=30, what="gilviz and its runs to end")


def test_race_screen_shows_a_verdict(term):
    t = term(width=120, height=40)
    t.wait_text("crunch-serial")
    t.keys("]")
    t.wait_text("[crunch-threads]")
    t.keys("r")
    # The verdict line, and every lane done. Crunch on 4 threads against serial on 2 cores
    # comes out either way: a few % apart on a quiet machine ("about the same", within the
    # noise of one run each), more under load ("... fastest, 1.12x faster than ...").
    wait_for(
        lambda: (
            (s := t.screen())
            and "✓ done" in s
            and ((" fastest, " in s and "faster than" in s) or " about the same (" in s)
        ),
        timeout=90,
        what="the race's verdict",
    )
    t.keys("q")
    t.wait_text("EXIT=0", timeout=20)


def test_too_small_terminal_says_so_and_q_still_quits(term):
    t = term(width=60, height=20)
    t.wait_text("at least 80x24")
    t.keys("q")
    t.wait_text("EXIT=0", timeout=20)
    assert not t.alternate_screen()


def test_ascii_mode_and_talk_mode_start(term):
    t = term(args="talk --ascii")
    t.wait_text("1/", timeout=30)  # the step counter
    t.wait_text("R running", timeout=30)  # the legend spells states with letters
    t.keys("n")
    t.wait_text("2/", timeout=30)
    t.keys("q")
    t.wait_text("EXIT=0", timeout=20)


def test_resize_redraws_for_the_new_size(term):
    # SIGWINCH: shrink below what gilviz can draw, then grow back; each time the screen
    # must follow the new size.
    t = term(width=100, height=30)
    t.wait_text("crunch-serial")
    t.tmux("resize-window", "-t", t.name, "-x", "60", "-y", "20")
    t.wait_text("at least 80x24")
    t.tmux("resize-window", "-t", t.name, "-x", "120", "-y", "40")
    # The whole condition is waited for: a capture can catch a frame still being drawn
    # (the dashboard's title already there, its wide rows not yet).
    wait_for(
        lambda: (
            (s := t.screen())
            and "at least 80x24" not in s
            and "crunch-serial" in s
            and max(len(line.rstrip()) for line in s.splitlines()) > 100
        ),
        timeout=30,
        what="the dashboard to come back at 120x40",
    )
    t.keys("q")
    t.wait_text("EXIT=0", timeout=20)


TALK_DECK = """
[[preset]]
name = "two-pools"
title = "Two pools on a small sum, compared side by side at the end of the step"
teaches = ["GIL"]
workload = "crunch"
size = 200_000
tasks = 4
narration = [
    "Four small sums on the serial run, then on four threads.",
    "This narration is long enough to need three lines at eighty columns, and every word",
    "of it stays on the screen: nothing of a narration is cut with an ellipsis.",
]

[[preset.pools]]
pool = "serial"

[[preset.pools]]
pool = "thread"
workers = 4

[preset.claim]
kind = "contention_below"
pool = "serial"
max = 1.0
"""


def test_talk_at_80x24_keeps_every_word_and_ends_with_the_deck(term, tmp_path):
    deck = tmp_path / "deck.toml"
    deck.write_text(TALK_DECK)
    t = term(width=80, height=24, args=f"talk {deck}")
    screen = t.wait_text("▶", timeout=60)  # the step has ended: its runs side by side
    text = " ".join(w for w in screen.split() if w != "1/1")  # the step counter aside
    assert "every word of it stays on the screen: nothing of a narration is cut" in text
    assert "COMPARED SIDE BY SIDE AT THE END OF THE STEP" in text
    assert "1 the serial run" in text and "2 threads" in text
    t.keys("f")
    t.wait_text("Threads or processes: the reference")
    t.keys("Escape")  # back to the talk, at its step, not to the dashboard
    t.wait_text("▶")
    t.keys("n")
    t.wait_text("The deck has ended")
    assert "1/1" in t.screen()
    t.keys("q")
    t.wait_text("EXIT=0", timeout=20)
