"""Per-core CPU bars: one per usable core, coloured by the worker that ran there.

Busy is the mean of the last ``window_s`` of /proc/stat samples (one every 100 ms: they count
in 10 ms ticks, so one sample reads in steps of a tenth; a mean over a second is steadier).
With few cores each core gets a bar; with many, the bars wrap into columns; when even that
does not fit, each core becomes one shaded cell (a heat map). A core that cannot be drawn
is counted on screen, never dropped silently.
"""

from __future__ import annotations

import math
from collections import Counter, deque

from gilviz.core.model import CoreView, RunSnapshot
from gilviz.tui.machine import Machine
from gilviz.tui.style import DIM, LABEL, cpu_ranges
from gilviz.tui.widgets.base import Line, LinesWidget, fit

MIN_BAR = 3
MAX_CELL = 58
GAP = 2


class CoresPanel(LinesWidget):
    DEFAULT_CSS = """
    CoresPanel { height: auto; }
    """

    def __init__(
        self,
        machine: Machine,
        window_s: float = 1.0,
        sample_hz: float = 50.0,
        max_rows: int = 4,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.machine = machine
        self.window_s = window_s
        self.sample_hz = sample_hz
        self.max_rows = max_rows
        self.snapshot: RunSnapshot | None = None
        self._wids: dict[int, deque] = {}

    def show(self, snap: RunSnapshot | None) -> None:
        self.snapshot = snap
        if snap is not None:
            for c in snap.cores:
                self._wids.setdefault(c.cpu, deque(maxlen=4)).append(c.wid)
        self.redraw()

    def set_max_rows(self, rows: int) -> None:
        if rows != self.max_rows:
            self.max_rows = max(1, rows)
            self.refresh(layout=True)
            self.redraw(force=True)

    # --- figures -------------------------------------------------------------------------

    def _cpus(self) -> list[int]:
        cpus = list(self.machine.usable_cpus)
        if self.snapshot is not None:
            extra = [c.cpu for c in self.snapshot.cores if c.cpu not in set(cpus)]
            cpus += extra
        return sorted(set(cpus))

    def _busy(self, core: CoreView | None) -> float | None:
        if core is None or not core.history:
            return None
        snap = self.snapshot
        # The cores' own rate (measured), else, for older recordings, the sampling rate
        hz = snap.core_hz if snap is not None and snap.core_hz else self.sample_hz
        k = max(1, round(self.window_s * hz))
        recent = core.history[-k:]
        return sum(recent) / len(recent)

    def _wid(self, cpu: int) -> int | None:
        seen = [w for w in self._wids.get(cpu, ()) if w is not None]
        if not seen:
            return None
        return Counter(seen).most_common(1)[0][0]

    # --- layout --------------------------------------------------------------------------

    def _grid(self, n: int, width: int) -> tuple[str, int, int]:
        """("bars", columns, cell width) or ("heat", cells per row, label width)."""
        label_w = len(str(max(self._cpus() or [0])))
        rows_max = max(1, self.max_rows)
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            cell = (width - GAP * (cols - 1)) // cols
            if rows <= rows_max and (cell <= MAX_CELL or cols == n):
                if cell >= label_w + 1 + MIN_BAR + 5:
                    return "bars", cols, min(cell, MAX_CELL)
                break
        per_row = max(1, width - label_w - 1)
        return "heat", per_row, label_w

    def wanted_height(self, width: int) -> int:
        n = len(self._cpus())
        mode, a, _ = self._grid(n, width)
        rows = math.ceil(n / a)
        return 1 + (rows if mode == "bars" else min(rows, self.heat_rows) + 1)

    @property
    def heat_rows(self) -> int:
        return max(self.max_rows, 4)

    def build(self, width: int, height: int) -> list[Line]:
        cpus = self._cpus()
        n = len(cpus)
        snap = self.snapshot
        by_cpu = {c.cpu: c for c in snap.cores} if snap else {}
        m = self.machine
        quota = "none" if m.quota is None else f"{m.quota:g} CPUs"
        measured = snap is not None and any(c.history for c in snap.cores)
        head = Line().add("cores ", LABEL)
        head.add(
            fit(
                [
                    f"{m.cores_usable} usable of {m.cores_logical}",
                    f"quota {quota}",
                    f"busy: mean of last {self.window_s:g} s, /proc/stat"
                    if measured
                    else "busy: n/a (sampled only during a run)",
                    f"cpus {cpu_ranges(m.usable_cpus)}",
                    "colour = worker that ran most there",
                ],
                width - 6,
            ),
            DIM,
        )
        lines = [head]
        mode, a, b = self._grid(n, width)
        look = self.look
        label_w = len(str(max(cpus or [0])))
        if mode == "bars":
            cols, cell = a, b
            rows = math.ceil(n / cols)
            tag = cell >= label_w + 1 + 8 + 5 + 4
            bar_w = cell - label_w - 1 - 5 - (4 if tag else 0)
            for r in range(rows):
                line = Line()
                for c in range(cols):
                    i = c * rows + r  # column-major: cpus read down the columns
                    if i >= n:
                        break
                    if c:
                        line.add(" " * GAP)
                    cpu = cpus[i]
                    busy = self._busy(by_cpu.get(cpu))
                    wid = self._wid(cpu)
                    style = look.worker_style(wid)
                    line.add(f"{cpu:>{label_w}} ", DIM)
                    if busy is None:
                        line.add(look.empty * bar_w, DIM)
                        line.add("  n/a", DIM)
                    else:
                        filled, rest = look.bar(busy, bar_w)
                        line.add(filled, style)
                        line.add(rest.replace(" ", look.empty), DIM)
                        line.add(f" {100 * busy:3.0f}%")
                    if tag:
                        line.add(f" w{wid:<2}" if wid is not None else "  - ", style)
                lines.append(line)
            return lines[:height]
        per_row = a
        rows = math.ceil(n / per_row)
        room = max(1, height - 1)
        shown_rows = rows if rows + 1 <= room else max(1, room - 1)
        for r in range(shown_rows):
            chunk = cpus[r * per_row : (r + 1) * per_row]
            line = Line().add(f"{chunk[0]:>{label_w}} ", DIM)
            for cpu in chunk:
                busy = self._busy(by_cpu.get(cpu))
                if busy is None:
                    line.add(look.empty, DIM)
                else:
                    glyph = look.shades[min(8, round(busy * 8))]
                    line.add(
                        glyph if glyph != " " else look.empty, look.worker_style(self._wid(cpu))
                    )
            lines.append(line)
        hidden = n - min(n, shown_rows * per_row)
        legend = "1 cell = 1 core, height = busy"
        if hidden:
            legend = f"{hidden} more cores not drawn: terminal too small · " + legend
        if len(lines) < height:
            lines.append(Line().add(fit([legend], width), DIM))
        return lines[:height]
