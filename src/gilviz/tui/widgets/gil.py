"""GIL indicators: contention gauge, heartbeat latency (how late a 1 ms sleep wakes up, with
the worst wake-up of each 0.5 s as a sparkline), and parallelism against the ideal for this
pool.

Every figure names its method and window; "n/a" where the platform cannot measure it. The
method lines wrap to the panel's width; when the panel is short they take their short form.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from typing import NamedTuple

from gilviz.core.model import SERIES_STEP_NS, RunSnapshot
from gilviz.core.protocol import WATCH_POOL, RunStatus
from gilviz.tui.machine import Machine
from gilviz.tui.style import DIM, LABEL, ms, num, pct
from gilviz.tui.widgets.base import Line, LinesWidget, fit

STEP_S = SERIES_STEP_NS / 1e9
#: Parallelism above its ideal by more than this is said to be above it (and why).
OVER = 1.05


class Ideal(NamedTuple):
    """What parallelism (cpu/wall) a pool can reach here.

    ``value``: the ideal the figure is read against; ``bar``: where the bar ends (the cores
    the workers could use: threads sharing one GIL can still pass 1 in code that releases
    it); ``why``: the reason in words (``short``: in a few); ``over``: why a figure above
    ``value`` is possible."""

    value: int
    bar: int
    why: str
    short: str
    over: str


def ideal_parallelism(pool: str, workers: int, machine: Machine, gil: bool | None = None) -> Ideal:
    """The ideal parallelism of ``workers`` on ``pool`` on this machine, and why.
    ``gil``: whether the run's interpreter has a GIL (None: as this machine's Python)."""
    cores = max(1, machine.cores_usable)
    gil = machine.gil_enabled if gil is None else gil
    fit_cores = min(max(1, workers), cores)
    bound = f"{workers} workers" if workers <= cores else f"{cores} cores"
    noise = "cpu is counted per worker, wall once: noise, or a fractional CPU quota"
    if pool == "serial":
        return Ideal(1, 1, "one worker", "one worker", noise)
    if pool == WATCH_POOL:
        why = f"one thread per core at most: {bound}"
        return Ideal(fit_cores, fit_cores, why, f"{bound}", noise)
    if pool in ("thread", "free-threaded") and gil:
        return Ideal(
            1,
            fit_cores,
            "threads share one GIL, one runs Python at a time",
            "threads share one GIL",
            "code that releases the GIL (C code, waits) ran beside the holder",
        )
    kind = {"process": "one GIL per process", "interpreter": "one GIL per interpreter"}.get(
        pool, "no GIL"
    )
    why = f"{kind}: min(workers, cores) = {bound}"
    return Ideal(fit_cores, fit_cores, why, f"min(workers, cores) = {bound}", noise)


def running_now(snap: RunSnapshot, samples: int) -> float | None:
    """Mean number of workers in the running state over the last ``samples`` samples."""
    total = 0
    seen = 0
    for w in snap.workers:
        cells = w.timeline[-samples:]
        if cells:
            seen = max(seen, len(cells))
            total += sum(1 for c in cells if c == "running")
    if not seen:
        return None
    if any(c == "n/a" for w in snap.workers for c in w.timeline[-samples:]):
        return None
    return total / seen


def sparkline(values: tuple[float, ...] | list[float], width: int, glyphs: str) -> str:
    vals = list(values)[-width:]
    if not vals:
        return ""
    top = max(vals) or 1.0
    last = len(glyphs) - 1
    return "".join(glyphs[min(last, round(v / top * last))] for v in vals)


def _few_digits(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


@lru_cache(maxsize=256)
def _wrap(text: str, width: int) -> tuple[str, ...]:
    # Cached: the panel is built at every frame, and its method lines change only with
    # the run's settings (textwrap was a third of a build).
    return tuple(textwrap.wrap(text, max(10, width), initial_indent=" ", subsequent_indent=" "))


class GilPanel(LinesWidget):
    """Contention, heartbeat, parallelism: each a headline and its method, wrapped."""

    DEFAULT_CSS = """
    GilPanel { height: auto; }
    """

    def __init__(self, machine: Machine, sample_hz: float = 50.0, window_s: float = 1.0, **kw):
        super().__init__(**kw)
        self.machine = machine
        self.sample_hz = sample_hz
        self.window_s = window_s
        self.snapshot: RunSnapshot | None = None
        #: the most rows it may take (the panels above and beside need theirs)
        self.max_rows = 12
        self._tiny_method = ""  # the parallelism's method in one line, when rows are few

    def show(self, snap: RunSnapshot | None) -> None:
        self.snapshot = snap
        self.redraw()

    def wanted_height(self, width: int) -> int:
        return len(self._lines(width, self.max_rows))

    def build(self, width: int, height: int) -> list[Line]:
        return self._lines(width, height)

    def _lines(self, width: int, height: int) -> list[Line]:
        for short in (False, True):
            lines = self._layout(width, short)
            if len(lines) <= height:
                return [ln for ln, _ in lines]
        # Still too tall: the sparkline goes, then the parallelism's method keeps one line.
        lines = [ln for ln, optional in lines if not optional]
        if len(lines) > height:
            i = next(i for i, ln in enumerate(lines) if ln.runs[0][0] == "parallelism ")
            room = max(1, height - i - 1)
            tiny = _wrap(self._tiny_method, width)
            if len(tiny) > room:
                tiny = [*tiny[: room - 1], fit([tiny[room - 1] + " …"], width)]
            lines = lines[: i + 1] + [Line().add(t, DIM) for t in tiny]
        return lines[:height]

    def _layout(self, width: int, short: bool) -> list[tuple[Line, bool]]:
        """(line, whether it may be left out when the panel is short)"""
        s = self.snapshot
        look = self.look
        lines: list[tuple[Line, bool]] = []
        # contention
        c = s.gil_contention if s else None
        gauge_w = max(4, min(24, width - 22))
        line = Line().add("GIL contention ", LABEL).add(f"{pct(c):>4} ")
        filled, rest = look.bar(c or 0.0, gauge_w)
        line.add(filled, look.state_style("gil_wait")).add(rest.replace(" ", look.empty), DIM)
        lines.append((line, False))
        hz = s.sample_hz if s and s.sample_hz else self.sample_hz
        method = s.method if s else "no run"
        how = f"{method}, {hz:.0f} Hz, {s.gil_samples:,} samples" if s else method
        text = "GIL wait / busy time, whole run" + ("" if short else f" · {how}")
        if s is not None and s.gil_note and c is None:
            text = s.gil_note
        lines += [(Line().add(t, DIM), False) for t in _wrap(text, width)]
        lines += self._heartbeat(s, width, short)
        lines += [(ln, False) for ln in self._parallelism(s, width, short)]
        return lines

    def _heartbeat(self, s: RunSnapshot | None, width: int, short: bool) -> list[tuple[Line, bool]]:
        look = self.look
        p50 = s.latency_p50_ms if s else None
        p99 = s.latency_p99_ms if s else None
        top = s.latency_max_ms if s else None
        head = f"p50 {ms(p50)} · p99 {ms(p99)} · max {ms(top)}"
        for sep in (" · ", " "):  # narrower: one "ms" for the three, fewer digits
            if len(head) + 10 <= width:
                break
            head = sep.join(
                f"{k} {_few_digits(v)}" for k, v in (("p50", p50), ("p99", p99), ("max", top))
            ) + (" ms" if top is not None else "")
        lines = [(Line().add("heartbeat ", LABEL).add(head), False)]
        what = (
            "how late a 1 ms sleep wakes up: what an I/O thread waits to get the GIL "
            "back, whole run"
            if not short
            else "lateness of 1 ms sleeps, whole run"
        )
        lines += [(Line().add(t, DIM), False) for t in _wrap(what, width)]
        series = s.latency_series if s else ()
        lead = f" worst per {STEP_S:g} s "
        spark_w = max(1, width - len(lead))
        line = Line().add(lead, DIM)
        if series:
            line.add(sparkline(series, spark_w, look.spark), look.state_style("gil_wait"))
        else:
            line.add("n/a", DIM)
        lines.append((line, True))
        return lines

    def _parallelism(self, s: RunSnapshot | None, width: int, short: bool) -> list[Line]:
        look = self.look
        par = s.parallelism if s else None
        if s is None:
            line = Line().add("parallelism ", LABEL).add("n/a of ideal n/a")
            self._tiny_method = "cpu/wall, whole run"
            return [line, *(Line().add(t, DIM) for t in _wrap("cpu/wall, whole run", width))]
        workers = s.workers_requested if s.pool != WATCH_POOL else len(s.workers)
        gil = None if s.gil_note is None else False
        ideal = ideal_parallelism(s.pool, workers, self.machine, gil)
        over = par is not None and par > ideal.value * OVER
        line = Line().add("parallelism ", LABEL).add(f"{num(par)} of ideal {ideal.value} ")
        bar_w = max(4, min(24, width - line.length - 1))
        share = min(1.0, (par or 0.0) / ideal.bar)
        filled, rest = look.bar(share, bar_w)
        cells = list(filled + rest.replace(" ", look.empty))
        mark = max(1, round(bar_w * ideal.value / ideal.bar)) if ideal.bar > ideal.value else None
        for i, ch in enumerate(cells):
            if i == mark:
                line.add("|" if look.ascii else "│", LABEL)
            elif i < len(filled):
                line.add(ch, look.state_style("running"))
            else:
                line.add(ch, DIM)
        if par is not None and par > ideal.bar * OVER:
            line.add("+", LABEL)  # clipped: the text says why
        lines = [line]
        now = running_now(s, max(1, round(self.window_s * self.sample_hz)))
        parts = [
            f"cpu/wall, whole run · ideal {ideal.value}: {ideal.short if short else ideal.why}"
        ]
        self._tiny_method = f"cpu/wall · ideal {ideal.value}: {ideal.short}"
        if mark is not None:
            tick = "|" if look.ascii else "│"
            self._tiny_method += f" · {tick} at {ideal.value} of {ideal.bar}"
            parts.append(
                f"{tick} marks {ideal.value}; the bar runs on to {ideal.bar}, the cores that "
                "code releasing the GIL could use"
                if not short
                else f"{tick} marks {ideal.value}, bar to {ideal.bar} cores"
            )
        if over:
            parts.append(f"above {ideal.value}: {ideal.over}")
            self._tiny_method += f" · above {ideal.value}: {ideal.over.split(' (')[0]}"
        if not short and not RunStatus(s.status).ended:
            parts.append(f"now {num(now, '{:.1f}')} running (last {self.window_s:g} s)")
        lines += [Line().add(t, DIM) for t in _wrap(" · ".join(parts), width)]
        return lines
