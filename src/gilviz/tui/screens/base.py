"""What every screen shares: a body that hides when the terminal is too small to draw it,
with a clear message instead, and the footer of main keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from gilviz.tui.controllers.base import Progress

MIN_W, MIN_H = 80, 24


class GilvizScreen(Screen):
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

    def show_progress(self, progress: Progress) -> None:
        """Called by the app at the panel rate with the current run's progress."""
