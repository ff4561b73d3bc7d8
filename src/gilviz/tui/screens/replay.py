"""``gilviz replay FILE.jsonl`` on screen: the dashboard's panels on a recording, with the
player's keys only: space pause/play (at the end: play again from the start), </- slower,
>/+ faster, ←/→ seek by a tenth of the recording, home/end; the title bar is the replay
banner. The dashboard's keys are not inherited: a replay changes nothing and runs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.binding import Binding

from gilviz.tui.controllers.base import Progress
from gilviz.tui.controllers.player import SEEK_FRACTION, RecordingPlayer
from gilviz.tui.screens.dashboard import DashboardScreen


class ReplayScreen(DashboardScreen, inherit_bindings=False):
    """The dashboard's panels on a recording; the title bar is the replay banner."""

    #: The help lists this screen's keys alone, under this title (see GilvizApp.action_help).
    KEYS_TITLE = "Replay (gilviz replay FILE)"
    # A pair of keys shows once in the footer ("</> speed"); the help names each (tooltip).
    BINDINGS = [
        Binding("space", "pause", "play/pause", tooltip="play/pause (at the end: from the start)"),
        Binding("less_than_sign,minus", "speed(-1)", "speed", key_display="</>", tooltip="slower"),
        Binding("greater_than_sign,plus,equals_sign", "speed(1)", "faster", show=False),
        Binding("left", "seek(-1)", "seek 10%", key_display="←/→", tooltip="back 10%"),
        Binding("right", "seek(1)", "ahead 10%", show=False),
        Binding("home", "seek_to(0)", "to the start", show=False),
        Binding("end", "seek_to(1)", "to the end", show=False),
        Binding("down", "scroll_workers(1)", "scroll workers down", show=False),
        Binding("up", "scroll_workers(-1)", "scroll workers up", show=False),
        Binding("pagedown", "scroll_workers(10)", "page workers down", show=False),
        Binding("pageup", "scroll_workers(-10)", "page workers up", show=False),
        # The app's other screens are not part of a replay: their keys say so.
        Binding("f,d", "elsewhere", "", show=False),
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
                (
                    "space",
                    "play again" if player.at_end else "play" if player.paused else "pause",
                    "",
                ),
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

    def action_elsewhere(self) -> None:
        self.app.notify(
            "a replay shows the recorded runs only: space, </> and ←/→ play them (? lists the keys)",
            severity="warning",
        )
