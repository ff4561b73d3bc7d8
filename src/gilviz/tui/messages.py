"""Messages that travel up, from screens to the app (attributes go down, messages up)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class OpenPreset(Message):
    """Show this preset on the dashboard (from the reference table or the palette)."""

    name: str
    start: bool = False


@dataclass
class OpenScreen(Message):
    """Switch to a screen by name: dashboard, race, reference, help, talk."""

    name: str
