"""The base of every live panel: lines described as (text, style) runs, cached as strips,
and only the lines that changed are marked dirty.

Textual re-sends every line of a widget that refreshes as a whole; refreshing only the
regions of the changed lines makes a frame cost what changed, not what is shown.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from gilviz.tui.style import Look

Run = tuple[str, Style | None]
LineKey = tuple[Run, ...]
_segment = tuple.__new__  # a rich Segment (a NamedTuple) from its three fields
#: How early in its period a whole-run chart may still be drawn: a tick that lands a few ms
#: before the chart's turn draws it rather than leaving it to the next tick, a frame later.
CHART_SLACK = 0.05


class Line:
    """A line being built: runs of (text, style), merged when the style repeats."""

    __slots__ = ("_done", "length", "_text", "_style")

    def __init__(self) -> None:
        self._done: list[Run] = []  # the finished runs; the last one is still being built
        self._text = ""
        self._style: Style | None = None
        self.length = 0

    def add(self, text: str, style: Style | None = None) -> Line:
        if not text:
            return self
        if style is self._style:
            self._text += text
        else:
            if self._text:
                self._done.append((self._text, self._style))
            self._text, self._style = text, style
        self.length += len(text)
        return self

    def pad(self, width: int, style: Style | None = None) -> Line:
        if self.length < width:
            self.add(" " * (width - self.length), style)
        return self

    @property
    def runs(self) -> list[Run]:
        """Every run so far, in order (a copy)."""
        return list(self.key())

    def key(self) -> LineKey:
        if self._text:
            return (*self._done, (self._text, self._style))
        return tuple(self._done)

    def fitted(self, width: int) -> LineKey:
        """The key, cut to ``width`` cells."""
        return self.key() if self.length <= width else crop_key(self.key(), width)


def crop_key(key: LineKey, width: int) -> LineKey:
    """``key`` cut to ``width`` cells (the same key when it fits: the common case)."""
    left = width
    for text, _ in key:
        if left <= 0:
            break
        left -= len(text)
        if left < 0:
            break
    else:
        return key
    out: list[Run] = []
    left = width
    for text, style in key:
        if left <= 0:
            break
        if len(text) > left:
            text = text[:left]
        out.append((text, style))
        left -= len(text)
    return tuple(out)


def fit(parts: list[str], width: int, sep: str = " · ") -> str:
    """Join parts with sep, dropping trailing parts that do not fit (the first always stays,
    cut with an ellipsis if it must)."""
    text = parts[0] if parts else ""
    for p in parts[1:]:
        if len(text) + len(sep) + len(p) > width:
            break
        text += sep + p
    if len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return text


def wrap_parts(parts: list[str], width: int, sep: str = " · ") -> list[str]:
    """Parts joined with sep into lines of ``width`` at most, broken between parts (a part
    longer than a line is cut with an ellipsis)."""
    lines: list[str] = []
    for p in parts:
        if lines and len(lines[-1]) + len(sep) + len(p) <= width:
            lines[-1] += sep + p
        else:
            lines.append(fit([p], width))
    return lines


class LinesWidget(Widget):
    """Subclasses implement :meth:`build` (and :meth:`wanted_height` when their height is
    ``auto``) and call :meth:`redraw` when their data changes."""

    DEFAULT_CSS = """
    LinesWidget {
        height: auto;
    }
    """

    def __init__(self, look: Look | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.look = look or Look()
        self._keys: list[LineKey] = []
        self._line_strips: list[Strip] = []
        self._built_size = Size(0, 0)
        self._wanted = 1
        #: lines repainted since mount (tests and benchmarks read it)
        self.lines_painted = 0

    # --- for subclasses ------------------------------------------------------------------

    def build(self, width: int, height: int) -> list[Line | LineKey]:
        return []

    def wanted_height(self, width: int) -> int:
        return self._wanted

    # --- machinery -----------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, self.wanted_height(width))

    def on_resize(self) -> None:
        self.redraw(force=True)

    def redraw(self, force: bool = False) -> None:
        """Rebuild the lines; repaint those that changed (all of them if ``force``)."""
        if not self.is_mounted:
            return
        size = self.content_size
        width, height = size.width, size.height
        if width <= 0 or height <= 0:
            return
        wanted = self.wanted_height(width)
        if self.styles.height is not None and self.styles.height.is_auto and wanted != height:
            self.refresh(layout=True)
        if size != self._built_size or force:
            self._build_strips(size)
            self.refresh()
            return
        lines = self.build(width, height)
        keys = [
            ln.fitted(width) if isinstance(ln, Line) else crop_key(ln, width)
            for ln in lines[:height]
        ]
        old = self._keys
        if len(old) != len(keys):
            self._keys = keys
            self._line_strips = [self._strip(k, width) for k in keys]
            self.lines_painted += len(keys)
            self.refresh()
            return
        dirty: list[Region] = []
        for y, k in enumerate(keys):
            if k != old[y]:
                self._line_strips[y] = self._strip(k, width)
                dirty.append(Region(0, y, width, 1))
        self._keys = keys
        if dirty:
            self.lines_painted += len(dirty)
            self.refresh(*dirty)

    @staticmethod
    def _strip(key: LineKey, width: int) -> Strip:
        # Segments made as the tuples they are (Segment's own __new__ is a Python call,
        # the most of this function's time for a timeline row of a hundred runs).
        segments = [_segment(Segment, (t, s, None)) for t, s in key]
        length = sum([len(t) for t, _ in key])
        if length < width:
            segments.append(Segment(" " * (width - length)))
        return Strip(segments, width)

    def render_line(self, y: int) -> Strip:
        size = self.content_size
        if size != self._built_size and size.width > 0 and size.height > 0:
            # Painted at a new size before on_resize has come: lines built for the old one
            # would show (a panel that grew to fit more rows, with one row and blank below).
            self._build_strips(size)
        if y < len(self._line_strips):
            return self._line_strips[y]
        return Strip.blank(size.width)

    def _build_strips(self, size: Size) -> None:
        """Build every line for ``size`` now, without asking for a repaint."""
        keys = [
            ln.fitted(size.width) if isinstance(ln, Line) else crop_key(ln, size.width)
            for ln in self.build(size.width, size.height)[: size.height]
        ]
        self._built_size = size
        self._keys = keys
        self._line_strips = [self._strip(k, size.width) for k in keys]
        self.lines_painted += len(keys)
