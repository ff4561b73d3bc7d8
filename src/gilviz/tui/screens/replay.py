"""``gilviz replay FILE.jsonl`` on screen: the dashboard's panels on a recording, with the
player's keys: space pause, </- slower, >/+ faster, ←/→ seek by a tenth of the recording,
home/end; the title bar is the replay banner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.binding import Binding

from gilviz.tui.controllers.base import Progress
from gilviz.tui.controllers.player import SEEK_FRACTION, RecordingPlayer
from gilviz.tui.screens.dashboard import DashboardScreen


class ReplayScreen(DashboardScreen):
    """The dashboard's panels on a recording; the title bar is the replay banner."""

    inherit_bindings = False
    BINDINGS = [
        Binding("space", "pause", "pause/play"),
        Binding("less_than_sign,minus", "speed(-1)", "slower", key_display="</-"),
        Binding("greater_than_sign,plus,equals_sign", "speed(1)", "faster", key_display=">/+"),
        Binding("left", "seek(-1)", "back 10%", key_display="←"),
        Binding("right", "seek(1)", "ahead 10%", key_display="→"),
        Binding("home", "seek_to(0)", "start", show=False),
        Binding("end", "seek_to(1)", "end", show=False),
        Binding("down", "scroll_workers(1)", "scroll workers down", show=False),
        Binding("up", "scroll_workers(-1)", "scroll workers up", show=False),
        Binding("pagedown", "scroll_workers(10)", "page workers down", show=False),
        Binding("pageup", "scroll_workers(-10)", "page workers up", show=False),
    ]

    @property
    def player(self) -> RecordingPlayer:
        return self.app.controller

    def on_mount(self) -> None:
        self._update_texts()

    def load_preset(self, preset: Any) -> None:
        pass  # a replay shows the recording, not a preset

    def _update_texts(self) -> None:
        if self.title_bar is None:
            return
        player = self.player
        spec = self._progress.spec or (player.tracks[0].source.spec if player.tracks else None)
        what = f"{spec.workload} on {spec.pool} ×{spec.workers}" if spec else "empty recording"
        title, where = player.banner_parts()
        m = self.app.machine
        self.title_bar.set(
            title, f"Recorded run: {what} · {m.python} · {m.cores_usable} cores", where
        )
        self.controls.set(
            [
                ("space", "play" if player.paused or player.at_end else "pause", ""),
                ("</>", f"{player.speed:g}x", "speed"),
                ("←/→", f"{SEEK_FRACTION:.0%}", "seek"),
            ]
        )

    def show_progress(self, progress: Progress) -> None:
        super().show_progress(progress)
        self._update_texts()

    def _act(self, fn: Callable[[], None]) -> None:
        fn()
        self.app.tick()
        self._update_texts()

    def action_pause(self) -> None:
        self._act(self.player.toggle_pause)

    def action_speed(self, direction: int) -> None:
        self._act(self.player.faster if direction > 0 else self.player.slower)

    def action_seek(self, direction: int) -> None:
        self._act(lambda: self.player.seek(direction * SEEK_FRACTION))

    def action_seek_to(self, fraction: float) -> None:
        self._act(lambda: self.player.seek_to(fraction * self.player.duration_s))

    def action_start_stop(self) -> None:
        self.action_pause()

    def action_race(self) -> None:
        self.app.notify("a replay shows the recorded runs only", severity="warning")
