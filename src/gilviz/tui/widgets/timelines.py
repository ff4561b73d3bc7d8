"""Per-worker timelines: one row per worker, one cell per folded sample, newest on the
right, coloured (and in ``--ascii`` mode lettered) by state; then the worker's share of
each state over the whole run and its tasks done.

Rows that do not fit are scrolled (↑/↓, PgUp/PgDn, mouse wheel) and the panel says which
workers it shows; the last line sums all workers whatever is shown.
"""

from __future__ import annotations

from gilviz.core.measuring.samples import STATES
from gilviz.core.model import RunSnapshot, WorkerView
from gilviz.tui.style import DIM, LABEL, STATE_LABEL, STATE_SHORT, pct
from gilviz.tui.widgets.base import Line, LinesWidget, fit

LABEL_W = 5  # "w12 "
NAMED_LABEL_W = 16  # "12345 worker-3 ": a watched program's threads, by tid and name
SHARE_W = 4
TASKS_W = 6


class TimelinesPanel(LinesWidget):
    DEFAULT_CSS = """
    TimelinesPanel { height: 7; min-height: 4; }
    """

    def __init__(self, sample_hz: float = 50.0, **kw) -> None:
        super().__init__(**kw)
        self.sample_hz = sample_hz
        self.snapshot: RunSnapshot | None = None
        self.first_row = 0

    def show(self, snap: RunSnapshot | None) -> None:
        self.snapshot = snap
        self.redraw()

    def wanted_height(self, width: int) -> int:
        n = len(self.snapshot.workers) if self.snapshot else 1
        return self.head_rows(width) + max(1, n)

    # --- scrolling -----------------------------------------------------------------------

    def _rows_room(self) -> int:
        return max(1, self.content_size.height - self.head_rows(self.content_size.width))

    def scroll_rows(self, delta: int) -> None:
        n = len(self.snapshot.workers) if self.snapshot else 0
        top = max(0, n - self._rows_room())
        new = min(top, max(0, self.first_row + delta))
        if new != self.first_row:
            self.first_row = new
            self.redraw()

    def on_mouse_scroll_down(self, event) -> None:
        self.scroll_rows(3)
        event.stop()

    def on_mouse_scroll_up(self, event) -> None:
        self.scroll_rows(-3)
        event.stop()

    # --- drawing -------------------------------------------------------------------------

    def _legend(self, width: int) -> list[Line]:
        """Every state's colour and name, always all of them (the share columns name them
        too): roomy when it fits, else tighter, else on two lines."""
        look = self.look
        entries = []
        for state in (*STATES, "n/a") if look.ascii else STATES:
            glyph, style = look.state_cell(state)
            entries.append((glyph * 2 if glyph == " " else glyph, style, STATE_LABEL[state]))

        def lay(lead: str, sep: str, room: int) -> list[Line]:
            lines = [Line().add(lead, LABEL)]
            for glyph, style, label in entries:
                piece = len(glyph) + 1 + len(label)
                line = lines[-1]
                if line.length > len(lead) and line.length + len(sep) + piece > room:
                    lines.append(line := Line())
                if line.length > (len(lead) if len(lines) == 1 else 0):
                    line.add(sep)
                line.add(glyph, style).add(f" {label}")
            return lines

        for lead, sep in (("workers ", "  "), ("", " ")):
            lines = lay(lead, sep, width)
            if len(lines) == 1:
                return lines
        return lines

    def head_rows(self, width: int) -> int:
        """Rows that are not worker rows: the legend, the column heads, the sum line."""
        return len(self._legend(width)) + 2

    def _columns(self, width: int) -> tuple[int, bool]:
        """Timeline width, and whether the share columns fit."""
        shares = width >= 60
        tw = width - self.label_w - TASKS_W - (1 + SHARE_W * len(STATES) if shares else 0)
        return max(1, tw), shares

    #: the label column's width: wider when the threads have names (a watched program)
    label_w = LABEL_W

    def build(self, width: int, height: int) -> list[Line]:
        snap = self.snapshot
        named = snap is not None and any(w.name for w in snap.workers)
        self.label_w = NAMED_LABEL_W if named else LABEL_W
        tw, shares = self._columns(width)
        lines = self._legend(width)
        heads = len(lines) + 2
        step_ms = 1000 / self.sample_hz if self.sample_hz else 0
        head = Line().add(
            fit(
                [
                    f"1 cell = 1 sample ({step_ms:g} ms), newest right",
                    "dominant state of each sample",
                ],
                tw + self.label_w,
            ).ljust(tw + self.label_w),
            DIM,
        )
        if shares:
            head.add(" " + "".join(STATE_SHORT[s].rjust(SHARE_W) for s in STATES), DIM)
        head.add("tasks".rjust(TASKS_W), DIM)
        lines.append(head)
        if snap is None or not snap.workers:
            msg = "no run yet: press s to start" if snap is None else "waiting for workers…"
            lines.append(Line().add(msg, DIM))
            return lines
        room = max(1, height - heads)
        workers = snap.workers
        n = len(workers)
        self.first_row = min(self.first_row, max(0, n - room))
        shown = workers[self.first_row : self.first_row + room]
        for w in shown:
            lines.append(self._row(w, tw, shares))
        while len(lines) < height - 1:
            lines.append(Line())
        lines.append(self._summary(snap, width, n, len(shown)))
        return lines

    def _row(self, w: WorkerView, tw: int, shares: bool) -> Line:
        look = self.look
        if self.label_w == LABEL_W:
            label = f"w{w.wid}"
        else:
            label = f"{w.tid} {w.name or ''}"[: self.label_w - 1]
        line = Line().add(label.ljust(self.label_w), DIM)
        cells = w.timeline[-tw:]
        if len(cells) < tw:
            line.add(" " * (tw - len(cells)))
        cell = look.state_cell
        for state in cells:
            glyph, style = cell(state)
            line.add(glyph, style)
        if shares:
            line.add(" ")
            st = w.states
            for s in STATES:
                line.add("n/a".rjust(SHARE_W) if st is None else f"{100 * st[s]:{SHARE_W}.0f}")
        line.add(f"{w.tasks:>{TASKS_W}}")
        return line

    def _summary(self, snap: RunSnapshot, width: int, n: int, shown: int) -> Line:
        st = snap.states
        parts = [
            f"all {n} worker{'s' if n != 1 else ''}: "
            + (
                " ".join(f"{STATE_SHORT[s]} {pct(st[s])}" for s in STATES)
                if st is not None
                else f"states n/a ({snap.method})"
            ),
        ]
        if shown < n:
            a = self.first_row
            parts.insert(
                0,
                f"showing w{snap.workers[a].wid}–w{snap.workers[a + shown - 1].wid} of {n} (↑↓ scroll)",
            )
        parts.append(f"{snap.tasks_done}/{snap.tasks_total} tasks")
        parts.append("shares: whole run")
        return Line().add(fit(parts, width), DIM)
