"""The reference table: GIL, memory, overhead, best for, crash isolation; threading versus
multiprocessing in words, what this machine measured for each row, and interpreter pools
(3.14+) in words and figures. Keys 1-5 (or ↑/↓
and Enter) open the preset behind a row on the dashboard."""

from __future__ import annotations

import textwrap
from pathlib import Path

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from gilviz.core.teaching import reference
from gilviz.tui.messages import OpenPreset, OpenScreen
from gilviz.tui.screens.base import GilvizScreen
from gilviz.tui.style import DIM, LABEL
from gilviz.tui.widgets.base import Line, LinesWidget
from gilviz.tui.widgets.info import TitleBar

SELECTED = Style(bgcolor="#2c313a")
MEASURED = Style(color="#98c379")
DIM_W = 18


def column_widths(width: int) -> list[int]:
    rest = width - DIM_W - 4 * 2
    return [DIM_W, rest // 4, rest // 4, rest // 4, rest - 3 * (rest // 4)]


class ReferenceHead(LinesWidget):
    """The column titles, above the scrolling rows: they stay in view whichever row is
    selected (the rows' scrollbar gutter is always kept, so the columns line up). A title
    wider than its column wraps."""

    DEFAULT_CSS = "ReferenceHead { height: auto; margin-right: 2; }"
    TITLES = ("", "threading", "multiprocessing", "measured here", "interpreters (3.14+)")

    def _titles(self, width: int) -> list[list[str]]:
        widths = column_widths(width)
        # "multiprocessing" in a narrow column breaks where a reader would: after "multi-"
        titles = [
            t if len(t) <= w else t.replace("multip", "multi-p")
            for t, w in zip(self.TITLES, widths, strict=True)
        ]
        return [textwrap.wrap(t, w) or [""] for t, w in zip(titles, widths, strict=True)]

    def wanted_height(self, width: int) -> int:
        return 1 + max(len(t) for t in self._titles(width))

    def build(self, width: int, height: int) -> list[Line]:
        titles = self._titles(width)
        lines = []
        for k in range(max(len(t) for t in titles)):
            line = Line()
            for t, w in zip(titles, column_widths(width), strict=True):
                line.add((t[k] if k < len(t) else "").ljust(w) + "  ", LABEL)
            lines.append(line)
        return [*lines, Line().add("─" * width, DIM)]


class ReferenceTable(LinesWidget):
    DEFAULT_CSS = "ReferenceTable { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.rows: list[dict] = []
        self.selected = 0

    def set_rows(self, rows: list[dict]) -> None:
        self.rows = rows
        self.refresh(layout=True)
        self.redraw(force=True)

    def select(self, i: int) -> None:
        self.selected = max(0, min(len(self.rows) - 1, i))
        self.redraw()
        top = sum(self.row_height(r) + 1 for r in self.rows[: self.selected])
        row_h = self.row_height(self.rows[self.selected]) if self.rows else 1
        self.scroll_visible_region(top, row_h)

    def row_height(self, row: dict, width: int | None = None) -> int:
        """The lines ``row`` takes at ``width`` (default: the table's own)."""
        widths = self._widths(width or self.content_size.width or 80)
        return max(len(c) for c in self._cells(row, widths))

    def scroll_visible_region(self, top: int, height: int) -> None:
        parent = self.parent
        if isinstance(parent, VerticalScroll):
            view = parent.scrollable_content_region.height
            y = parent.scroll_y
            if top < y:
                parent.scroll_to(y=top, animate=False)
            elif top + height > y + view:
                parent.scroll_to(y=top + height - view, animate=False)

    def _widths(self, width: int) -> list[int]:
        return column_widths(width)

    def _cells(self, row: dict, widths: list[int]) -> list[list[str]]:
        texts = [
            row["dimension"],
            row["threading"],
            row["multiprocessing"],
            row["measured"] or reference.NOT_MEASURED,
            reference.interpreters_cell(row),
        ]
        return [textwrap.wrap(t, w) or [""] for t, w in zip(texts, widths, strict=True)]

    def wanted_height(self, width: int) -> int:
        return sum(self.row_height(r, width) + 1 for r in self.rows)

    def build(self, width: int, height: int) -> list[Line]:
        widths = self._widths(width)
        lines = []
        for i, row in enumerate(self.rows):
            cells = self._cells(row, widths)
            sel = i == self.selected
            for k in range(max(len(c) for c in cells)):
                line = Line()
                for j, (c, w) in enumerate(zip(cells, widths, strict=True)):
                    text = c[k] if k < len(c) else ""
                    if j == 0:
                        text = (f"{i + 1} " + text) if k == 0 else "  " + text
                        style = Style(bold=True) + (SELECTED if sel else Style())
                    elif j in (3, 4):
                        got = row["measured"] if j == 3 else row["measured_interpreters"]
                        style = (MEASURED if got else DIM) + (SELECTED if sel else Style())
                    else:
                        style = SELECTED if sel else None
                    line.add(text.ljust(w)[:w] + "  ", style)
                lines.append(line)
            lines.append(Line())
        return lines


class ReferenceScreen(GilvizScreen):
    BINDINGS = [
        Binding("1", "jump(0)", "open row 1's preset", show=False),
        Binding("2", "jump(1)", "open row 2's preset", show=False),
        Binding("3", "jump(2)", "open row 3's preset", show=False),
        Binding("4", "jump(3)", "open row 4's preset", show=False),
        Binding("5", "jump(4)", "open row 5's preset", show=False),
        Binding("down", "move(1)", "next row", show=False),
        Binding("up", "move(-1)", "previous row", show=False),
        Binding("enter", "open", "open preset"),
        Binding("escape", "go_back", "back"),
    ]

    def __init__(self, cache: Path | None = None, **kw) -> None:
        super().__init__(**kw)
        self.cache = cache

    def compose_body(self) -> ComposeResult:
        app = self.app
        self.title_bar = TitleBar(app.machine, narration_lines=2, look=app.look)
        self.table = ReferenceTable(look=app.look)
        self.note = NoteLine(look=app.look)
        yield self.title_bar
        yield ReferenceHead(look=app.look)
        # Not focusable: ↑/↓ move the selection (the screen's keys), which scrolls the rows
        # to keep it in view; a focused scroll view would take those keys for itself.
        with VerticalScroll(id="ref-scroll", can_focus=False):
            yield self.table
        yield self.note

    def on_mount(self) -> None:
        self.title_bar.set(
            "Threads or processes: the reference",
            "Each row in a few words, and what this machine measured when the presets behind "
            "it last ran. 1-5 or Enter opens the row's preset.",
        )
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        path = self.cache or reference.cache_path()
        rows = reference.table(reference.load(path))
        self.table.set_rows(rows)
        self.note.set(reference.footer(rows, path))

    def _preset_of(self, i: int) -> str | None:
        rows = self.table.rows
        if not 0 <= i < len(rows):
            return None
        names = {p.name for p in self.app.deck}
        return next((n for n in rows[i]["presets"] if n in names), None)

    def action_jump(self, i: int) -> None:
        self.table.select(i)
        self.action_open()

    def action_move(self, delta: int) -> None:
        self.table.select(self.table.selected + delta)

    def action_open(self) -> None:
        name = self._preset_of(self.table.selected)
        if name is None:
            row = self.table.rows[self.table.selected]
            self.app.notify(
                f"none of {', '.join(row['presets'])} is in this deck", severity="warning"
            )
            return
        self.post_message(OpenPreset(name))

    def action_go_back(self) -> None:
        """To the screen this one was opened from: the talk at its step, or the dashboard."""
        self.post_message(OpenScreen("back"))


class NoteLine(LinesWidget):
    """The footer: wrapped, never cut (it says where the figures come from)."""

    DEFAULT_CSS = "NoteLine { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.text = ""

    def set(self, text: str) -> None:
        self.text = text
        self.refresh(layout=True)
        self.redraw()

    def wanted_height(self, width: int) -> int:
        return len(textwrap.wrap(self.text, max(1, width))) or 1

    def build(self, width: int, height: int) -> list[Line]:
        return [Line().add(part, DIM) for part in textwrap.wrap(self.text, max(1, width))]
