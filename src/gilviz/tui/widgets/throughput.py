"""Throughput: tasks finished per second (per 0.5 s step of the runner's task events),
drawn with plotext and redrawn no faster than ``chart_hz`` (2 Hz at most), only when the
series changed. The title line carries the current rate, averaged over a stated window.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.style import Style

from gilviz.core.model import SERIES_STEP_NS, RunSnapshot
from gilviz.tui.style import DIM, LABEL, num
from gilviz.tui.widgets.base import Line, LineKey, LinesWidget, fit

STEP_S = SERIES_STEP_NS / 1e9
RATE_WINDOW = 4  # series points in the "now" figure (2 s)
PLOT = Style(color="#61afef")


def plot_lines(
    xs: list[float], ys: list[float], width: int, height: int, ascii_: bool
) -> list[str]:
    """A plotext line chart as plain text lines (no colour codes)."""
    import plotext as plt

    fig = plt.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("colorless")
    sig = fig.signal(xs, ys, marker="*" if ascii_ else "braille")
    sig.lines()
    fig.draw(sig)
    text = fig.build().string(colorless=True)
    return text.split("\n")[:height]


def _color_line(text: str) -> LineKey:
    line = Line()
    for ch in text:
        plotted = "\u2800" <= ch <= "\u28ff" or ch == "*"
        line.add(ch, PLOT if plotted else DIM)
    return line.key()


class ThroughputPanel(LinesWidget):
    DEFAULT_CSS = """
    ThroughputPanel { height: 7; }
    """

    def __init__(
        self, chart_hz: float = 2.0, clock: Callable[[], float] = time.monotonic, **kw
    ) -> None:
        super().__init__(**kw)
        self.chart_hz = min(2.0, chart_hz)
        self.clock = clock  # the chart's rate is kept on it (an export's is virtual)
        self.snapshot: RunSnapshot | None = None
        self._chart: list[LineKey] = []
        self._chart_for: tuple | None = None
        self._chart_at = 0.0
        #: charts drawn since mount (tests and benchmarks read it)
        self.charts_drawn = 0
        self._pending_timer = None

    def _draw_pending(self) -> None:
        self._pending_timer = None
        self.redraw()

    def show(self, snap: RunSnapshot | None) -> None:
        self.snapshot = snap
        self.redraw()

    def _chart_lines(self, width: int, height: int) -> list[LineKey]:
        s = self.snapshot
        series = s.throughput_series if s else ()
        # Whether there is a run at all is part of the key: the placeholder says which.
        key = (series, width, height, self.look.ascii, s is None)
        if key == self._chart_for:
            return self._chart
        now = self.clock()
        same_size = self._chart_for is not None and self._chart_for[1:4] == key[1:4]
        wait = 1.0 / self.chart_hz - (now - self._chart_at)
        if same_size and wait > 0:
            # Too soon: draw it when its turn comes (even if no new data arrives by then).
            if self._pending_timer is None:
                self._pending_timer = self.set_timer(wait, self._draw_pending)
            return self._chart
        self._chart_for = key
        if len(series) < 2 or height < 3 or width < 20:
            msg = "n/a: no task finished yet" if s else "no run yet"
            self._chart = [((msg, DIM),)]
            self._chart_at = 0.0  # a placeholder does not count against the chart rate
            return self._chart
        self._chart_at = now
        n = len(series)
        xs = [(i - n + 1) * STEP_S for i in range(n)]
        self._chart = [
            _color_line(t) for t in plot_lines(xs, list(series), width, height, self.look.ascii)
        ]
        self.charts_drawn += 1
        return self._chart

    def build(self, width: int, height: int) -> list[Line | LineKey]:
        s = self.snapshot
        series = s.throughput_series if s else ()
        recent = series[-RATE_WINDOW:]
        rate = sum(recent) / len(recent) if recent else None
        head = Line().add("throughput ", LABEL)
        head.add(
            fit(
                [
                    f"{num(rate, '{:.1f}')} tasks/s (mean of last {len(recent) * STEP_S:g} s)"
                    if recent
                    else "n/a tasks/s",
                    f"{s.tasks_done}/{s.tasks_total} done" if s else "",
                    "x: s before now, y: tasks/s per 0.5 s",
                ],
                width - 11,
            ),
            DIM,
        )
        return [head, *self._chart_lines(width, height - 1)]
