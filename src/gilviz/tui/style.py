"""Colours and glyphs of the UI: one place that says how each state and worker is drawn.

Two modes: colour (states differ by colour, cells are full blocks) and ``--ascii`` (states
differ by glyph too, bars use ASCII). NO_COLOR implies the glyph mode, since colours are
gone. Pure data and Rich styles; no widget here.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style

from gilviz.core.protocol import STATE_LETTER, STATE_WORDS, STATES

STATE_LABEL = {**STATE_WORDS, "n/a": "not measured"}
STATE_SHORT = {
    "running": "run",
    "gil_wait": "gil",
    "io_wait": "i/o",
    "lock_wait": "lck",
    "runnable": "cpu",
    "idle": "idl",
}
STATE_COLOR = {
    "running": "#4ec94e",
    "gil_wait": "#e5534b",
    "io_wait": "#4f9ee8",
    "lock_wait": "#c678dd",
    "runnable": "#e0b341",
    "idle": "#5c6370",
    "n/a": "#5c6370",
}
#: Timeline cells use the terminal's own 16 colours (short escape codes, and the user's
#: palette): a cell is a space on a coloured background, the cheapest cell to send.
STATE_ANSI = {
    "running": "green",
    "gil_wait": "red",
    "io_wait": "blue",
    "lock_wait": "magenta",
    "runnable": "yellow",
    "idle": "bright_black",
    "n/a": "bright_black",
}
STATE_GLYPH_ASCII = STATE_LETTER
STATE_GLYPH_COLOR = {
    "running": "█",
    "gil_wait": "█",
    "io_wait": "█",
    "lock_wait": "█",
    "runnable": "█",
    "idle": "·",
    "n/a": "?",
}
#: Colours of workers on the per-core bars (cycled when there are more workers).
WORKER_COLORS = (
    "#56b6c2",
    "#e5c07b",
    "#c678dd",
    "#98c379",
    "#e06c75",
    "#61afef",
    "#d19a66",
    "#be5046",
    "#7ec699",
    "#a9a1e1",
    "#f0a5c8",
    "#b3b3b3",
)
OTHER_COLOR = "#7f848e"  # a core busy with something that is not a worker (or unknown)
DIM = Style(color="#7f848e")
LABEL = Style(bold=True)
ERROR = Style(color="#e5534b", bold=True)
GOOD = Style(color="#4ec94e", bold=True)


@dataclass(frozen=True)
class Look:
    """How this session draws: ``ascii`` (glyphs differ per state) and ``color``."""

    ascii: bool = False
    color: bool = True

    def state_glyph(self, state: str) -> str:
        table = STATE_GLYPH_ASCII if self.ascii else STATE_GLYPH_COLOR
        return table.get(state, "?")

    def state_style(self, state: str) -> Style:
        return _STATE_STYLES[state if state in _STATE_STYLES else "n/a"]

    def state_cell(self, state: str) -> tuple[str, Style]:
        """One timeline cell: (glyph, style). Colour mode: a space on an ANSI background
        (idle: a dim dot); --ascii: a letter in the ANSI colour."""
        if state not in STATE_ANSI:
            state = "n/a"
        if self.ascii:
            return STATE_GLYPH_ASCII[state], _ANSI_FG[state]
        if state in ("idle", "n/a"):
            return STATE_GLYPH_COLOR[state], _ANSI_FG[state]
        return " ", _ANSI_BG[state]

    def worker_style(self, wid: int | None) -> Style:
        if wid is None:
            return _OTHER
        return _WORKER_STYLES[wid % len(_WORKER_STYLES)]

    @property
    def full(self) -> str:
        return "#" if self.ascii else "█"

    @property
    def empty(self) -> str:
        return "." if self.ascii else "░"

    @property
    def eighths(self) -> str:
        """Partial-cell glyphs for bars, 0/8 .. 8/8."""
        return " ....####" if self.ascii else " ▏▎▍▌▋▊▉█"

    @property
    def shades(self) -> str:
        """Glyphs for 0..100% in one cell (heat maps), 9 steps."""
        return " .:-=+*#@" if self.ascii else " ▁▂▃▄▅▆▇█"

    @property
    def spark(self) -> str:
        return "_.-=*#" if self.ascii else "▁▂▃▄▅▆▇█"

    def bar(self, value: float, width: int) -> tuple[str, str]:
        """A horizontal bar of ``value`` (0..1) in ``width`` cells: (filled, rest)."""
        value = min(1.0, max(0.0, value))
        eighths = round(value * width * 8)
        full, part = divmod(eighths, 8)
        filled = self.full * full
        if part and full < width:
            filled += self.eighths[part]
        return filled, " " * (width - len(filled))


_STATE_STYLES = {k: Style(color=v) for k, v in STATE_COLOR.items()}
_ANSI_FG = {k: Style(color=v) for k, v in STATE_ANSI.items()}
_ANSI_BG = {k: Style(bgcolor=v) for k, v in STATE_ANSI.items()}
_WORKER_STYLES = tuple(Style(color=c) for c in WORKER_COLORS)
_OTHER = Style(color=OTHER_COLOR)

assert set(STATES) <= set(STATE_LABEL)


def pct(x: float | None, width: int = 0) -> str:
    """A share as a whole percent, "n/a" when unknown."""
    text = "n/a" if x is None else f"{100 * x:.0f}%"
    return text.rjust(width) if width else text


def ms(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x >= 100:
        return f"{x:.0f} ms"
    if x >= 10:
        return f"{x:.1f} ms"
    return f"{x:.2f} ms"


def num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def cpu_ranges(cpus: list[int] | tuple[int, ...]) -> str:
    """[0,1,2,5] -> "0-2,5"."""
    out: list[str] = []
    start = prev = None
    for c in sorted(cpus):
        if start is None:
            start = prev = c
        elif c == prev + 1:
            prev = c
        else:
            out.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = c
    if start is not None:
        out.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ",".join(out) or "none"
