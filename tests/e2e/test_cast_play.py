"""An exported cast played by the real player: Debian's ``asciinema play`` in a tmux pane of
the cast's size ends on the same screen as the terminal emulator of the export tests
(pyte), which shows the recorded figures. The wait polls ``tmux capture-pane`` against a
deadline."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pyte
import pytest

from tests.helpers import run_cli, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
    pytest.mark.skipif(shutil.which("asciinema") is None, reason="needs asciinema (Debian)"),
]


def pyte_screen(cast: str) -> list[str]:
    lines = cast.splitlines()
    header = json.loads(lines[0])
    screen = pyte.Screen(header["width"], header["height"])
    stream = pyte.Stream(screen)
    for line in lines[1:]:
        stream.feed(json.loads(line)[2])
    return [row.rstrip() for row in screen.display]


def test_asciinema_plays_the_cast_to_the_recorded_figures(tmp_path):
    rec, cast = tmp_path / "rec.jsonl", tmp_path / "rec.cast"
    out = run_cli("compare", "crunch", "--pools", "serial,thread", "--workers", "2",
                  "--tasks", "4", "--size", "300000", "--json", "--record", str(rec))  # fmt: skip
    assert out.returncode == 0, out.stderr
    runs = json.loads(run_cli("replay", str(rec), "--json").stdout)["runs"]
    out = run_cli("export", str(rec), "--format", "asciicast", "--size", "100x30", "-o", str(cast))
    assert out.returncode == 0, out.stderr
    want = pyte_screen(cast.read_text(encoding="utf-8"))
    for run in runs:
        assert any(f"{run['wall_s']:7.2f} s" in row for row in want)

    socket = f"gilviz-cast-{uuid.uuid4().hex[:8]}"

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    # The pane waits for Enter, so that the player starts once the pane has its size.
    tmux("new-session", "-d", "-s", "p", "-x", "100", "-y", "30", "-e", "TERM=tmux-256color",
         "sh", "-c", f"read _go; asciinema play -s 4 {cast}; sleep 60")  # fmt: skip
    try:
        wait_for(
            lambda: tmux("display-message", "-p", "-t", "p", "#{pane_width}x#{pane_height}")
            .strip() == "100x30",
            timeout=10,
            what="a 100x30 pane",
        )  # fmt: skip
        tmux("send-keys", "-t", "p", "Enter")

        def shown() -> list[str]:
            rows = tmux("capture-pane", "-t", "p", "-p").split("\n")[:30]
            return [row.rstrip() for row in rows]

        try:
            wait_for(lambda: shown() == want, timeout=60, what="the cast's last screen")
        except pytest.fail.Exception:
            pytest.fail("asciinema ended elsewhere:\n" + "\n".join(shown()))
    finally:
        tmux("kill-server")
