"""The state mix over the whole run: one column per stretch of time, stacked by the share of
all workers' sampled time in each state (running at the bottom), coloured as the timelines
are. Where the timelines show each worker's last seconds, this shows every worker at once
from the run's start, so a run's phases (start-up, the work, a tail of idle workers) and the
GIL's share read at a glance, whatever the number of workers.

The data is the model's whole-run grid (``RunSnapshot.state_time``): buckets of
``grid_step_s``; when there are more buckets than columns, neighbours are summed.
"""

from __future__ import annotations

from gilviz.core.model import RunSnapshot
from gilviz.core.protocol import STATES
from gilviz.tui.style import DIM, LABEL
from gilviz.tui.widgets.base import Line, LinesWidget, fit

Y_W = 5  # "100%┤"
FULL_FROM = 5  # rows from which the axes are drawn


def _shares(rows: tuple[tuple[float, ...], ...]) -> tuple[float, ...] | None:
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


def cell_state(shares: tuple[float, ...], level: float) -> str:
    """The state at ``level`` (0..1 from the bottom) of a stacked column."""
    acc = 0.0
    for state, share in zip((*STATES, "n/a"), shares, strict=False):
        acc += share
        if level < acc:
            return state
    return "n/a"


class StateMixPanel(LinesWidget):
    DEFAULT_CSS = """
    StateMixPanel { height: 1fr; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.snapshot: RunSnapshot | None = None

    def show(self, snap: RunSnapshot | None) -> None:
        self.snapshot = snap
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
        look = self.look
        for r in range(rows):
            level = (rows - r - 0.5) / rows
            line = Line()
            if axes:
                label = "100%" if r == 0 else "  0%" if r == rows - 1 else ""
                line.add(f"{label:>4}", DIM).add("┤" if label else "│", DIM)
            for col in cols:
                if col is None:
                    line.add(" ")
                    continue
                glyph, style = look.state_cell(cell_state(col, level))
                line.add(glyph, style)
            lines.append(line)
        if axes:
            span = len(cols)
            lines.append(Line().add(" " * (Y_W - 1) + "└" + "─" * span, DIM))
            end = f"{len(data) * (s.grid_step_s if s else 0.1):.1f} s"
            ticks = " " * Y_W + "0 s"
            ticks += " " * max(1, Y_W + span - len(ticks) - len(end)) + end
            lines.append(Line().add(ticks, DIM))
        return lines
