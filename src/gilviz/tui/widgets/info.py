"""Text lines around the panels: title and narration, the run's settings, its status."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable

from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from gilviz.core import report
from gilviz.core.model import RunSnapshot
from gilviz.core.protocol import RunStatus
from gilviz.tui.machine import Machine
from gilviz.tui.style import DIM, ERROR, GOOD, LABEL
from gilviz.tui.widgets.base import Line, LinesWidget, fit
from gilviz.tui.widgets.cores import CoresPanel
from gilviz.tui.widgets.gil import GilPanel
from gilviz.tui.widgets.mix import StateMixPanel
from gilviz.tui.widgets.throughput import ChartRun, ThroughputPanel
from gilviz.tui.widgets.timelines import TimelinesPanel

TITLE = Style(bold=True, color="#e5c07b")
KEY = Style(bold=True, color="#61afef")
REC = Style(bold=True, color="#e5534b")
CHANGED = Style(bold=True, color="#e0b341")
STATUS_STYLE = {
    "running": Style(color="#4ec94e", bold=True),
    "starting": Style(color="#e0b341", bold=True),
    "stopping": Style(color="#e0b341", bold=True),
    "queued": Style(color="#e0b341", bold=True),
    "done": GOOD,
    "stopped": Style(color="#e0b341", bold=True),
    "failed": ERROR,
    "idle": DIM,
}


class TitleBar(LinesWidget):
    """Title on the left, the machine on the right; the narration below (wrapped to
    ``narration_lines``)."""

    DEFAULT_CSS = "TitleBar { height: auto; }"

    def __init__(self, machine: Machine, narration_lines: int = 1, **kw) -> None:
        super().__init__(**kw)
        self.machine = machine
        self.narration_lines = narration_lines
        self.title_text = ""
        self.narration = ""
        self.right = ""
        #: The interpreter of the run on screen, as its runner said (protocol.python_short);
        #: None until a run has said: the machine's own Python is named instead.
        self.python: str | None = None

    def set(self, title: str, narration: str, right: str = "") -> None:
        self.title_text, self.narration, self.right = title, narration, right
        self.refresh(layout=True)
        self.redraw()

    def set_python(self, python: str | None) -> None:
        if python is not None and python != self.python:
            self.python = python
            self.redraw()

    def _narration(self, width: int) -> list[str]:
        if self.narration_lines <= 1:
            return [fit([self.narration], width)]
        wrapped = textwrap.wrap(self.narration, width) or [""]
        if len(wrapped) > self.narration_lines:
            wrapped = wrapped[: self.narration_lines]
            wrapped[-1] = fit([wrapped[-1] + " …"], width)
        return wrapped

    def wanted_height(self, width: int) -> int:
        return 1 + len(self._narration(width))

    def build(self, width: int, height: int) -> list[Line]:
        m = self.machine
        if self.right:
            right = self.right + (f" · {self.python}" if self.python else "")
        else:
            right = f"{self.python or m.python} · {m.cores_usable} cores"
        # The session's marks (recording, low bandwidth) come first; on a narrow terminal
        # they keep their place and the machine gives way.
        marks = [text for text, _ in session_marks(self.app)]
        room = width - len(" · ".join([*marks, right])) - 2
        if marks and room < min(40, width // 2) and not self.right:
            right = ""
        full = " · ".join([*marks, right] if right else marks)
        title = fit([self.title_text], max(10, width - len(full) - 2))
        line = Line().add(title, TITLE)
        line.add(" " * max(1, width - len(title) - len(full)))
        for i, (text, style) in enumerate(session_marks(self.app)):
            line.add(" · " if i else "", DIM).add(text, style)
        if right:
            line.add(" · " if marks else "", DIM).add(right, DIM)
        return [line, *(Line().add(t) for t in self._narration(width))]


def session_marks(app: object) -> list[tuple[str, Style]]:
    """What the whole session is doing that the screen should always say: recording
    (``--record``), and a low frame rate for a slow link (``--low-bandwidth``, SSH)."""
    marks = []
    recorder = getattr(getattr(app, "controller", None), "recorder", None)
    if recorder is not None:
        if recorder.error:
            marks.append(("REC stopped", ERROR))
        else:
            marks.append((f"● REC {recorder.path.name}", REC))
    low = getattr(app, "low_bandwidth", None)
    if low:
        marks.append((f"{low}: {getattr(app, 'fps', 1):g} frame/s", STATUS_STYLE["stopped"]))
    return marks


class ControlsBar(LinesWidget):
    """What will run, and the keys that change it; a value ending in ``*`` differs from
    the preset's and stands out. On a narrow terminal the ``spare`` words go first (the
    "pool" of "p thread pool"), then settings that still do not fit go on a second line:
    none is dropped."""

    DEFAULT_CSS = "ControlsBar { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.settings: list[tuple[str, str, str]] = []  # (key, value, what it is)
        self.spare: frozenset[str] = frozenset()

    def set(
        self, settings: list[tuple[str, str, str]], spare: frozenset[str] = frozenset()
    ) -> None:
        self.settings, self.spare = settings, spare
        self.refresh(layout=True)
        self.redraw()

    def _lines(self, width: int) -> list[list[tuple[str, str, str]]]:
        def pack(settings: list[tuple[str, str, str]]) -> list[list[tuple[str, str, str]]]:
            lines: list[list[tuple[str, str, str]]] = [[]]
            used = 0
            for key, value, what in settings:
                piece = len(key) + len(value) + len(what) + 4
                if used + piece > width and lines[-1]:
                    lines.append([])
                    used = 0
                lines[-1].append((key, value, what))
                used += piece
            return lines

        lines = pack(self.settings)
        if len(lines) > 1 and self.spare:
            lines = pack([(k, v, "" if w in self.spare else w) for k, v, w in self.settings])
        return lines

    def wanted_height(self, width: int) -> int:
        return len(self._lines(width))

    def build(self, width: int, height: int) -> list[Line]:
        out = []
        for items in self._lines(width):
            line = Line()
            for key, value, what in items:
                line.add(key, KEY).add(" ").add(value, CHANGED if value.endswith("*") else LABEL)
                line.add(f" {what}  " if what else "  ", DIM)
            out.append(line)
        return out


class StatusLine(LinesWidget):
    """The run's state, progress and error (which never stops the app)."""

    DEFAULT_CSS = "StatusLine { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.state = "idle"
        self.text = "no run yet: press s to start"
        self.error: str | None = None
        self.extra = ""

    def set(self, state: str, text: str, error: str | None = None, extra: str = "") -> None:
        """``extra``: lines below the status (one per line of it), e.g. a pool's start-up."""
        if (state, text, error, extra) == (self.state, self.text, self.error, self.extra):
            return
        self.state, self.text, self.error, self.extra = state, text, error, extra
        self.redraw()  # a new height is laid out from wanted_height()

    def _wrapped(self, width: int) -> tuple[list[str], list[str], list[str]]:
        """The text, the error and each line of extra, wrapped whole: the figure a run
        exists for (lost updates, an error) is never cut."""
        head = len(self.state) + 3
        text = textwrap.wrap(self.text, max(10, width - head)) or [""]
        error = textwrap.wrap(self.error, max(10, width - 7)) if self.error else []
        extra = [t for line in self.extra.splitlines() for t in textwrap.wrap(line, max(10, width))]
        return text, error, extra

    def wanted_height(self, width: int) -> int:
        return sum(len(part) for part in self._wrapped(width))

    def build(self, width: int, height: int) -> list[Line]:
        style = STATUS_STYLE.get(self.state, LABEL)
        text, error, extra = self._wrapped(width)
        indent = " " * (len(self.state) + 3)
        lines = [Line().add(f"● {self.state} ", style).add(text[0], DIM)]
        lines += [Line().add(indent + t, DIM) for t in text[1:]]
        for i, t in enumerate(error):
            lines.append(Line().add("error: " if i == 0 else " " * 7, ERROR).add(t))
        lines += [Line().add(t) for t in extra]
        return lines


def status_text(snap: RunSnapshot | None) -> str:
    if snap is None:
        return "no run yet"
    return " · ".join(status_parts(snap))


def status_parts(snap: RunSnapshot) -> list[str]:
    """The status line's parts: what runs, time, tasks, cpu, the outcome in words."""
    parts = [
        f"{snap.workload} on {snap.pool} ×{snap.workers_requested}",
        f"{snap.elapsed_s:.1f} s",
        f"{snap.tasks_done}/{snap.tasks_total} tasks",
        f"cpu {snap.cpu_s:.2f} s",
    ]
    if snap.outcome:
        parts.append(report.outcome_text(snap.outcome, snap.pool))
    short = RunStatus(snap.status).ended and report.too_short(
        snap.elapsed_s, snap.gil_samples, snap.method != "none", snap.pool
    )
    if short:
        parts.append(f"too short to measure: {short['hint']}")
    return parts


class LivePanels(Vertical):
    """Cores, timelines, then the figures (GIL, heartbeat, parallelism) with the state mix
    over the whole run below them, beside throughput and tasks done over time: everything
    live about one run (and the chart, every run of its plan)."""

    DEFAULT_CSS = """
    LivePanels { height: 1fr; }
    LivePanels > .bottom { height: 1fr; min-height: 7; }
    LivePanels > .bottom > .left { width: 1fr; height: 100%; }
    LivePanels > .bottom > ThroughputPanel { width: 1fr; height: 100%; margin-left: 1; }
    """

    def __init__(
        self,
        machine: Machine,
        look,
        sample_hz: float,
        chart_hz: float,
        clock: Callable[[], float] = time.monotonic,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.cores = CoresPanel(machine, sample_hz=sample_hz, look=look)
        self.timelines = TimelinesPanel(sample_hz=sample_hz, look=look)
        self.gil = GilPanel(machine, sample_hz=sample_hz, look=look)
        self.throughput = ThroughputPanel(chart_hz=chart_hz, clock=clock, look=look)
        self.mix = StateMixPanel(chart_hz=chart_hz, clock=clock, look=look)
        self._workers_seen = 0
        self._min_bottom = 7
        self._bottom: int | None = None

    def compose(self) -> ComposeResult:
        yield self.cores
        yield self.timelines
        with Horizontal(classes="bottom"):
            with Vertical(classes="left"):
                yield self.gil
                yield self.mix
            yield self.throughput

    def show(self, snap: RunSnapshot | None, runs: tuple[ChartRun, ...] | None = None) -> None:
        """``snap``: the run on screen; ``runs``: what the chart draws (every run of the
        plan so far, labelled; by default ``snap`` alone)."""
        n = len(snap.workers) if snap else 0
        if n != self._workers_seen:
            self._workers_seen = n
            self._share_rows()
        self.cores.show(snap)
        self.timelines.show(snap)
        self.gil.show(snap)
        self.mix.show(snap)
        self.throughput.show(snap, runs)

    def on_resize(self) -> None:
        self._share_rows()  # a status line that grew (a wrapped error) takes rows from here

    def fit_to(self, width: int, height: int) -> None:
        """Give the panels rows in proportion to the terminal."""
        self._min_bottom = 7 if height < 34 else 10
        self.cores.set_max_rows(1 if height < 30 else max(2, (height - 24) // 2))
        self.call_after_refresh(self._share_rows)

    def show_charts(self, show: bool) -> None:
        """The charts below the timelines, or not (a screen with few rows left gives them
        to the cores and the timelines)."""
        bottom = self.query_one(".bottom")
        if bottom.display != show:
            bottom.display = show
            self.call_after_refresh(self._share_rows)

    def _share_rows(self) -> None:
        """Timelines get the rows their workers need; the charts get the rest."""
        total = self.content_size.height
        if total <= 0:
            return
        cores = self.cores.wanted_height(self.content_size.width)
        need = self.timelines.head_rows(self.content_size.width) + max(1, self._workers_seen)
        charts = self._min_bottom if self.query_one(".bottom").display else 0
        rows = max(4, min(need, total - cores - charts))
        if self._bottom != rows:
            self._bottom = rows
            self.timelines.styles.height = rows
        # The figures take their short form rather than be cut below.
        bottom = max(1, total - cores - rows)
        if self.gil.max_rows != bottom:
            self.gil.max_rows = bottom
            self.gil.refresh(layout=True)
