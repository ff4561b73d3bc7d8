"""What every screen shares: a body that hides when the terminal is too small to draw it,
with a clear message instead, the footer of main keys, and the run's ``progress``, a
reactive the app sets at the panel rate."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static

from gilviz.tui.controllers.base import Progress

MIN_W, MIN_H = 80, 24


class GilvizScreen(Screen):
    #: The current plan's progress. Set at every tick: a snapshot moves on even when nothing
    #: else does, and comparing two snapshots would cost more than drawing them. No repaint:
    #: each panel marks the lines it changed, and repainting the screen would send every
    #: line of it again, each frame (the compositor's full update, most of a frame's cost).
    progress: reactive[Progress] = reactive(
        Progress(), always_update=True, init=False, repaint=False
    )

    def compose(self) -> ComposeResult:
        with Vertical(id="body"):
            yield from self.compose_body()
        yield Static("", id="too-small")
        yield Footer(show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_resize(self, event: Resize) -> None:
        w, h = event.size.width, event.size.height
        small = w < MIN_W or h < MIN_H
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"The terminal is {w}x{h}; gilviz needs at least {MIN_W}x{MIN_H} to draw its "
                "panels. Enlarge the window (q quits; runs go on meanwhile)."
            )
        self.fit_to(w, h)

    def fit_to(self, width: int, height: int) -> None:
        """Adapt panel heights to the terminal (subclasses)."""

    def watch_progress(self, progress: Progress) -> None:
        self.show_progress(progress)

    def show_progress(self, progress: Progress) -> None:
        """Draw the current run's progress (subclasses)."""
