"""Throughput: the rate headline, and tasks done over time for every run of the plan on one
pair of axes (each run from its own start), so a race shows which pool got through the work
first and how: a staircase for serial, one cliff for threads that take turns to the end.

The headline is the run's own rate once it has ended (tasks done / wall), and while it runs
the mean of the last 2 s (tasks whose end arrived per 0.5 s step). The chart counts tasks by
their end times (the model's whole-run grid), is drawn with plotext, redrawn no faster than
``chart_hz`` (2 Hz at most) and only when its data changed. x is in seconds since gilviz
launched the run's runner, y in tasks; each run has its colour (and, with --ascii, its
marker). A panel too short for a readable plot lists each run's figures instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.style import Style

from gilviz.core.model import SERIES_STEP_NS, RunSnapshot
from gilviz.core.protocol import WATCH_POOL, RunStatus
from gilviz.tui.style import DIM, LABEL
from gilviz.tui.widgets.base import (
    CHART_SLACK,
    Line,
    LineKey,
    LinesWidget,
    crop_key,
    fit,
    wrap_parts,
)

STEP_S = SERIES_STEP_NS / 1e9
RATE_WINDOW = 4  # series points in the "now" figure (2 s)
RUN_COLORS = ("#61afef", "#e5c07b", "#c678dd", "#56b6c2", "#e06c75", "#98c379")
RUN_STYLES = tuple(Style(color=c) for c in RUN_COLORS)
RUN_MARKERS = "*+o#@%"
MIN_PLOT = 6  # rows a plot needs to be read: 4 of data, the axis and its labels
BRAILLE_BLANK = 0x2800
NICE = (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)

#: One run on the chart: its label and snapshot.
ChartRun = tuple[str, RunSnapshot]


def rate_parts(s: RunSnapshot | None) -> list[str]:
    """The throughput headline: the run's own rate once it has ended (tasks / wall), else
    the recent one; in parts that a narrow panel puts on lines of their own."""
    if s is None:
        return ["n/a: no run yet"]
    if s.pool == WATCH_POOL:
        return ["n/a: a watched program sends no task events"]
    if RunStatus(s.status).ended:
        if s.elapsed_s <= 0:
            return ["n/a: no wall time", f"{s.tasks_done}/{s.tasks_total} done"]
        return [
            f"{rate(s.tasks_done / s.elapsed_s)} tasks/s",
            f"{s.tasks_done} tasks / {s.elapsed_s:.2f} s wall, whole run",
        ]
    recent = s.throughput_series[-RATE_WINDOW:]
    done = f"{s.tasks_done}/{s.tasks_total} done"
    if not recent:
        return [f"n/a tasks/s until {STEP_S:g} s have passed", done]
    mean = sum(recent) / len(recent)
    return [f"{rate(mean)} tasks/s", f"mean of last {len(recent) * STEP_S:g} s", done]


def rate(x: float) -> str:
    """3 significant digits, never in exponent form: 0.608, 51.3, 21,800."""
    r = float(f"{x:.3g}")
    return f"{r:,.0f}" if r >= 100 else f"{r:.3g}"


def nice_step(span: float, slots: int) -> float:
    """The smallest round step that cuts ``span`` into at most ``slots`` parts."""
    for step in NICE:
        if span / step <= max(1, slots):
            return step
    return NICE[-1] * max(1, round(span / NICE[-1] / max(1, slots)))


def _x_label(x: float) -> str:
    return f"{x:g} s"


def plot_runs(
    series: list[tuple[list[float], list[float]]],
    xmax: float,
    ymax: int,
    width: int,
    height: int,
    ascii_: bool,
) -> tuple[list[str], list[list[int | None]]]:
    """Every series drawn on the same axes (plotext, no colour codes), merged: the lines,
    and for each cell the index of the series drawn there last (None: axes, labels)."""
    import plotext as plt

    y_ticks = [0, ymax] if height < 6 or ymax < 2 or ymax % 2 else [0, ymax // 2, ymax]
    y_labels = [count(v) for v in y_ticks]
    y_w = max(len(t) for t in y_labels) + 1
    plot_w = max(4, width - y_w - 1)
    label_w = len(_x_label(xmax)) + 2
    step = nice_step(xmax, plot_w // max(6, label_w))
    x_ticks = [i * step for i in range(int(xmax / step + 1e-9) + 1)]

    def draw(xs: list[float], ys: list[float], marker: str) -> list[str]:
        plt.terminal.limit(False, False)  # the panel's size, not the terminal's, bounds it
        fig = plt.figure
        fig.clear()
        fig.plot_size(width, height)
        fig.theme("colorless")
        sig = fig.signal(xs, ys, marker=marker)
        sig.lines()
        fig.draw(sig)
        fig.axes(False, axis=[0, 1], side=1)  # no frame above and on the right
        fig.ruler("x").lim(0, xmax)
        fig.ruler("y").lim(0, ymax)
        fig.ruler("x").ticks(x_ticks, [_x_label(x) for x in x_ticks])
        fig.ruler("y").ticks(y_ticks, y_labels)
        text = fig.build().string(colorless=True)
        return [ln.ljust(width)[:width] for ln in text.split("\n")[:height]]

    out: list[list[str]] | None = None
    owners: list[list[int | None]] = []
    for k, (xs, ys) in enumerate(series):
        marker = RUN_MARKERS[k % len(RUN_MARKERS)] if ascii_ else "braille"
        drawn = draw(xs, ys, marker)
        if out is None:
            out = [list(ln) for ln in drawn]
            owners = [[None] * len(ln) for ln in drawn]
        for y, ln in enumerate(drawn[: len(out)]):
            for x, ch in enumerate(ln[: len(out[y])]):
                if ascii_:
                    if ch in RUN_MARKERS:
                        out[y][x], owners[y][x] = ch, k
                    continue
                code = ord(ch)
                if BRAILLE_BLANK < code <= 0x28FF:
                    old = ord(out[y][x])
                    bits = code - BRAILLE_BLANK
                    if BRAILLE_BLANK <= old <= 0x28FF:
                        bits |= old - BRAILLE_BLANK
                    out[y][x] = chr(BRAILLE_BLANK + bits)
                    owners[y][x] = k
    return ["".join(ln) for ln in out or []], owners


def _run_points(snap: RunSnapshot) -> tuple[list[float], list[float]]:
    step = snap.grid_step_s
    done = snap.tasks_over_time
    return [0.0, *((i + 1) * step for i in range(len(done)))], [0.0, *map(float, done)]


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
        #: what the chart draws: every run of the plan so far (label, snapshot), in order
        self.runs: tuple[ChartRun, ...] = ()
        self._chart: list[LineKey] = []
        self._chart_for: tuple | None = None
        self._chart_at = 0.0
        #: charts drawn since mount (tests and benchmarks read it)
        self.charts_drawn = 0

    def show(self, snap: RunSnapshot | None, runs: tuple[ChartRun, ...] | None = None) -> None:
        """``snap``: the run the headline is about; ``runs``: those the chart draws (by
        default ``snap`` alone, labelled by its pool)."""
        self.snapshot = snap
        self.runs = runs if runs is not None else ((snap.pool, snap),) if snap else ()
        self.redraw()

    def _placeholder(self) -> str:
        s = self.snapshot
        if s is None:
            return "tasks done over time: no run yet"
        if s.pool == WATCH_POOL:
            return "tasks done over time: n/a (no task events from a watched program)"
        return "tasks done over time: waiting for the run's first samples"

    def _chart_lines(self, width: int, height: int) -> list[LineKey]:
        runs = [(label, s) for label, s in self.runs if s.pool != WATCH_POOL]
        data = tuple((label, s.tasks_over_time, s.grid_step_s, s.tasks_total) for label, s in runs)
        # Whether there is a run at all is part of the key: the placeholder says which.
        key = (data, width, height, self.look.ascii, self._placeholder())
        if key == self._chart_for:
            return self._chart
        now = self.clock()
        same_size = self._chart_for is not None and self._chart_for[1:4] == key[1:4]
        period = 1.0 / self.chart_hz
        if same_size and self._chart_at and now - self._chart_at < period * (1 - CHART_SLACK):
            # Too soon: the screen's next tick (it shows every panel at the frame rate, new
            # data or not) draws it, in the frame it sends anyway; a timer of its own would
            # send a frame for the chart alone.
            return self._chart
        self._chart_for = key
        if not any(s.tasks_over_time for _, s in runs) or height < 4 or width < 20:
            self._chart = [((fit([self._placeholder()], width), DIM),)]
            self._chart_at = 0.0  # a placeholder does not count against the chart rate
            return self._chart
        self._chart_at = now
        points = [_run_points(s) for _, s in runs]
        xmax = max(xs[-1] for xs, _ in points)
        ymax = max(max(s.tasks_total, s.tasks_over_time[-1] if s.tasks_over_time else 0)
                   for _, s in runs) or 1  # fmt: skip
        legend = self._legend(runs, width, max(1, height - MIN_PLOT))
        if height - len(legend) < MIN_PLOT:
            # Too few rows to read a plot: each run's figures, in its colour, instead.
            self._chart = self._as_text(runs, width, height)
            return self._chart
        lines, owners = plot_runs(points, xmax, ymax, width, height - len(legend), self.look.ascii)
        single = len(runs) == 1
        self._chart = legend
        for text, who in zip(lines, owners, strict=False):
            line = Line()
            for ch, k in zip(text, who, strict=False):
                if k is None:
                    line.add(ch, DIM)
                else:
                    line.add(ch, RUN_STYLES[0] if single else RUN_STYLES[k % len(RUN_STYLES)])
            self._chart.append(line.key())
        self.charts_drawn += 1
        return self._chart

    def _legend(self, runs: list[ChartRun], width: int, most: int) -> list[LineKey]:
        """The y axis's unit above it, and each run's colour (or marker) and wall time,
        on ``most`` lines at most: the plot keeps its rows; what gives way is the walls
        (the race board has them), then the ends of long labels."""
        for walls, cut in ((True, 99), (False, 99), (False, 12), (False, 8)):
            line = Line().add("tasks done", LABEL)
            if width >= 70:
                line.add(" (by end time; x: s since the runner was launched)", DIM)
            lines = [line]
            if len(runs) > 1:
                for k, (label, s) in enumerate(runs):
                    mark = RUN_MARKERS[k % len(RUN_MARKERS)] if self.look.ascii else "━"
                    name = label if len(label) <= cut else _middle_cut(label, cut)
                    piece = f" {mark} {name}"
                    if walls:
                        piece += f" {s.elapsed_s:.2f} s" if RunStatus(s.status).ended else " …"
                    if lines[-1].length + len(piece) > width:
                        lines.append(Line())
                    lines[-1].add(piece, RUN_STYLES[k % len(RUN_STYLES)])
            if len(lines) <= most:
                break
        return [crop(ln, width) for ln in lines]

    def _as_text(self, runs: list[ChartRun], width: int, height: int) -> list[LineKey]:
        out = [Line().add("tasks done", LABEL).add(" (no room for the chart)", DIM)]
        for k, (label, s) in enumerate(runs[: max(0, height - 1)]):
            mark = RUN_MARKERS[k % len(RUN_MARKERS)] if self.look.ascii else "━"
            style = RUN_STYLES[0] if len(runs) == 1 else RUN_STYLES[k % len(RUN_STYLES)]
            figures = f"{s.tasks_done}/{s.tasks_total} tasks"
            if RunStatus(s.status).ended and s.elapsed_s > 0:
                figures += f" in {s.elapsed_s:.2f} s"
            room = width - len(figures) - 4  # the figures stay whole; a long label is cut
            name = label if len(label) <= room else _middle_cut(label, max(4, room))
            out.append(Line().add(f"{mark} {name}: {figures}", style))
        return [crop(ln, width) for ln in out]

    def build(self, width: int, height: int) -> list[Line | LineKey]:
        # The headline wraps (two lines at most) rather than lose its figures.
        lead = "throughput "
        text = wrap_parts([lead + p if i == 0 else p for i, p in enumerate(rate_parts(
            self.snapshot))], max(20, width))  # fmt: skip
        head = [Line().add(lead, LABEL).add(text[0][len(lead) :])]
        if len(text) > 1:
            head.append(Line().add(fit([" · ".join(text[1:])], width), DIM))
        return [*head, *self._chart_lines(width, height - len(head))]


def _middle_cut(label: str, width: int) -> str:
    """Cut in the middle: labels of one race differ at the end ("processes (chunksize 1)")."""
    head = (width - 1) // 2
    return label[:head] + "…" + label[len(label) - (width - 1 - head) :]


def crop(line: Line, width: int) -> LineKey:
    return crop_key(line.key(), width)


def count(n: int) -> str:
    """A tick label: 2000 -> "2k"."""
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return str(n)
