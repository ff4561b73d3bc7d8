"""The state mix over the whole run: one column per stretch of time, stacked by the share of
all workers' sampled time in each state (running at the bottom), coloured as the timelines
are. Where the timelines show each worker's last seconds, this shows every worker at once
from the run's start, so a run's phases (start-up, the work, a tail of idle workers) and the
GIL's share read at a glance, whatever the number of workers.

The data is the model's whole-run grid (``RunSnapshot.state_time``): buckets of
``grid_step_s``; when there are more buckets than columns, neighbours are summed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

from gilviz.core.model import RunSnapshot
from gilviz.core.protocol import STATES
from gilviz.tui.style import DIM, LABEL
from gilviz.tui.widgets.base import CHART_SLACK, Line, LinesWidget, fit

Y_W = 5  # "100%┤"
FULL_FROM = 5  # rows from which the axes are drawn


@lru_cache(maxsize=1024)
def _shares(rows: tuple[tuple[float, ...], ...]) -> tuple[float, ...] | None:
    # Cached: at each frame only the columns of the last buckets have new data.
    sampled = sum(r[-1] for r in rows)
    if sampled <= 0:
        return None
    shares = [sum(r[i] for r in rows) / sampled for i in range(len(STATES))]
    return (*shares, max(0.0, 1.0 - sum(shares)))


def columns(
    state_time: tuple[tuple[float, ...], ...], width: int
) -> tuple[list[tuple[float, ...] | None], float]:
    """The run's buckets as ``width`` columns at most: each column's shares (STATES order,
    then the part that could not be split; None where nothing was sampled), and how many
    buckets a column stands for. More buckets than columns: neighbours are summed; fewer:
    a bucket spans several columns, so the whole width is the whole run."""
    n = len(state_time)
    if n == 0 or width <= 0:
        return [], 1.0
    out = []
    for c in range(width):
        a = c * n // width
        b = max(a + 1, (c + 1) * n // width)
        out.append(_shares(state_time[a:b]))
    return out, n / width


@lru_cache(maxsize=1024)
def column_states(shares: tuple[float, ...], rows: int) -> tuple[str, ...]:
    """The state of each row of a stacked column, top row first (cached, as ``_shares``)."""
    return tuple(cell_state(shares, (rows - r - 0.5) / rows) for r in range(rows))


def cell_state(shares: tuple[float, ...], level: float) -> str:
    """The state at ``level`` (0..1 from the bottom) of a stacked column."""
    acc = 0.0
    for state, share in zip((*STATES, "n/a"), shares, strict=False):
        acc += share
        if level < acc:
            return state
    return "n/a"


def _phase(snap: RunSnapshot | None) -> tuple:
    """What makes a new picture at once, whatever the chart rate: another run or none, a
    new status, buckets merged, the first samples (or a new run's, fewer than before)."""
    if snap is None:
        return (None,)
    return (snap.workload, snap.pool, snap.status, snap.grid_step_s, bool(snap.state_time))


class StateMixPanel(LinesWidget):
    """Redrawn at the chart rate (a column stands for a tenth of a second or more of the
    whole run), and at once when the run or its phase changes; a resize draws the latest
    snapshot."""

    DEFAULT_CSS = """
    StateMixPanel { height: 1fr; }
    """

    def __init__(
        self, chart_hz: float = 2.0, clock: Callable[[], float] = time.monotonic, **kw
    ) -> None:
        super().__init__(**kw)
        self.chart_hz = chart_hz
        self.clock = clock
        self.snapshot: RunSnapshot | None = None
        self._drawn: tuple | None = None  # (phase, buckets) of the last picture
        self._drawn_at = 0.0

    def show(self, snap: RunSnapshot | None) -> None:
        self.snapshot = snap
        now = self.clock()
        buckets = len(snap.state_time) if snap is not None else 0
        drawn = self._drawn
        if (
            drawn is not None
            and drawn[0] == _phase(snap)
            and buckets >= drawn[1]
            and now - self._drawn_at < (1 - CHART_SLACK) / self.chart_hz
        ):
            return
        self._drawn, self._drawn_at = (_phase(snap), buckets), now
        self.redraw()

    def build(self, width: int, height: int) -> list[Line]:
        s = self.snapshot
        if height < 2 or width < 20:
            return []
        axes = height >= FULL_FROM
        plot_w = width - Y_W if axes else width
        data = s.state_time if s is not None else ()
        cols, per = columns(data, plot_w)
        step = (s.grid_step_s if s is not None else 0.1) * per
        head = Line().add("state mix ", LABEL)
        head.add(
            fit(
                [
                    "share of all workers' sampled time",
                    f"1 column = {step:.2g} s",
                    "whole run, running at the bottom",
                ],
                width - head.length,
            ),
            DIM,
        )
        lines = [head]
        if not cols:
            why = (
                "no run yet"
                if s is None
                else f"n/a: states not measured ({s.method})"
                if s.states is None and s.gil_samples
                else "waiting for the first samples"
            )
            lines.append(Line().add(why, DIM))
            return lines
        rows = height - 1 - (2 if axes else 0)
        cells = {state: self.look.state_cell(state) for state in (*STATES, "n/a")}
        blank = (" ", None)
        stacks = [None if col is None else column_states(col, rows) for col in cols]
        for r in range(rows):
            line = Line()
            if axes:
                label = "100%" if r == 0 else "  0%" if r == rows - 1 else ""
                line.add(f"{label:>4}", DIM).add("┤" if label else "│", DIM)
            for stack in stacks:
                line.add(*(blank if stack is None else cells[stack[r]]))
            lines.append(line)
        if axes:
            span = len(cols)
            lines.append(Line().add(" " * (Y_W - 1) + "└" + "─" * span, DIM))
            end = f"{len(data) * (s.grid_step_s if s else 0.1):.1f} s"
            ticks = " " * Y_W + "0 s"
            ticks += " " * max(1, Y_W + span - len(ticks) - len(end)) + end
            lines.append(Line().add(ticks, DIM))
        return lines
