"""GIL indicators: contention gauge, heartbeat latency (p50/p99 and a sparkline of p99),
and parallelism against the ideal for this pool.

Every figure names its method and window; "n/a" where the platform cannot measure it.
"""

from __future__ import annotations

from gilviz.core.model import RunSnapshot
from gilviz.tui.machine import Machine
from gilviz.tui.style import DIM, LABEL, ms, num, pct
from gilviz.tui.widgets.base import Line, LinesWidget, fit

ONE_GIL = ("serial", "thread")


def ideal_parallelism(pool: str, workers: int, machine: Machine) -> tuple[int, str]:
    """How many workers can compute at once on this pool, and why."""
    cores = max(1, machine.cores_usable)
    if pool == "serial":
        return 1, "one worker"
    if pool == "thread" and machine.gil_enabled:
        return 1, "threads share one GIL"
    n = min(workers, cores)
    why = "workers" if workers <= cores else "usable cores"
    return n, f"min(workers, cores): {why}"


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


class GilPanel(LinesWidget):
    DEFAULT_CSS = """
    GilPanel { height: 7; }
    """

    def __init__(self, machine: Machine, sample_hz: float = 50.0, window_s: float = 1.0, **kw):
        super().__init__(**kw)
        self.machine = machine
        self.sample_hz = sample_hz
        self.window_s = window_s
        self.snapshot: RunSnapshot | None = None

    def show(self, snap: RunSnapshot | None) -> None:
        self.snapshot = snap
        self.redraw()

    def build(self, width: int, height: int) -> list[Line]:
        s = self.snapshot
        look = self.look
        gauge_w = max(4, min(24, width - 22))
        lines: list[Line] = []
        # contention
        c = s.gil_contention if s else None
        line = Line().add("GIL contention ", LABEL).add(f"{pct(c):>4} ")
        filled, rest = look.bar(c or 0.0, gauge_w)
        line.add(filled, look.state_style("gil_wait")).add(rest.replace(" ", look.empty), DIM)
        lines.append(line)
        hz = s.sample_hz if s and s.sample_hz else self.sample_hz
        method = s.method if s else "no run"
        lines.append(
            Line().add(
                " "
                + fit(
                    [
                        "GIL wait / busy time, whole run",
                        f"{method}, {hz:.0f} Hz, {s.gil_samples:,} samples" if s else method,
                    ],
                    width - 1,
                    " · ",
                ),
                DIM,
            )
        )
        # latency
        p50 = s.latency_p50_ms if s else None
        p99 = s.latency_p99_ms if s else None
        lines.append(
            Line()
            .add("heartbeat ", LABEL)
            .add(f"p50 {ms(p50)} · p99 {ms(p99)}")
            .add(" (late wake-ups of 1 ms sleeps, whole run)" if width > 60 else "", DIM)
        )
        series = s.latency_series if s else ()
        lead = " p99/0.5 s "
        spark_w = max(1, width - len(lead) - 12)
        line = Line().add(lead, DIM)
        if series:
            line.add(sparkline(series, spark_w, look.spark), look.state_style("gil_wait"))
            line.add(f" max {ms(max(series[-spark_w:]))}", DIM)
        else:
            line.add("n/a", DIM)
        lines.append(line)
        # parallelism
        if s is not None:
            ideal, why = ideal_parallelism(s.pool, s.workers_requested, self.machine)
        else:
            ideal, why = None, ""
        par = s.parallelism if s else None
        line = Line().add("parallelism ", LABEL).add(f"{num(par)} of ideal {ideal or 'n/a'} ")
        if ideal:
            filled, rest = look.bar(
                min(1.0, (par or 0.0) / ideal), max(4, min(16, width - line.length))
            )
            line.add(filled, look.state_style("running")).add(rest.replace(" ", look.empty), DIM)
        lines.append(line)
        k = max(1, round(self.window_s * self.sample_hz))
        now = running_now(s, k) if s else None
        lines.append(
            Line().add(
                " "
                + fit(
                    [
                        "cpu/wall, done tasks",
                        f"now {num(now, '{:.1f}')} running (last {self.window_s:g} s)",
                        f"ideal: {why}" if why else "",
                    ],
                    width - 1,
                ),
                DIM,
            )
        )
        return lines
