"""Messages that travel up, from screens to the app (attributes go down, messages up): a
screen asks for a run, a stop or a screen by posting one; the app's controller carries it
out, and the screens see the result as their ``progress`` reactive."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from gilviz.core.protocol import Control
from gilviz.tui.controllers.base import Plan


@dataclass
class OpenPreset(Message):
    """Show this preset on the dashboard (from the reference table or the palette)."""

    name: str
    start: bool = False


@dataclass
class OpenScreen(Message):
    """Switch to a screen by name: dashboard, race, reference, help, talk; or "back" to the
    one the current screen was opened from (the talk at its step, or the dashboard)."""

    name: str


@dataclass
class OpenRace(Message):
    """Open the race screen on this plan and start it."""

    plan: Plan


@dataclass
class StartPlan(Message):
    """Run this plan (the run in progress, if any, is stopped first)."""

    plan: Plan


@dataclass
class StopRun(Message):
    """Stop the run in progress and the rest of its plan."""


@dataclass
class SendToRunner(Message):
    """A control command for the runner of the run in progress (a switch interval)."""

    command: Control
