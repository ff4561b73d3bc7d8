"""Exports that need the real screens: a recording played as an asciinema cast (asciicast
v2), and one moment of it as an SVG picture (Textual's own screenshot).

    FILE.jsonl ─read_recording─> scenes_of() ─> RecordingPlayer on a clock stepped by hand
        ─> GilvizApp, headless (App.run_test) at the chosen size, each scene on the screen
           that showed it (screens.recorded) ─> per frame: tick, the screen's lines as ANSI
        ─> the lines that changed ─> [time, "o", data] ─> OUT.cast, one line per frame

Frames come every 1/fps seconds of the cast; the recording moves ``speed`` times as fast.
The runs play at their recorded pace and the gaps between plans are cut; each scene's end
(the race's verdict, the talk's claim) is held HOLD_S seconds of the cast. Every frame is
written as it is made, so the cast streams whatever the recording's length. Nothing here
runs a workload: the app's controller is the player.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console
from rich.segment import Segment
from textual.strip import Strip

from gilviz.core.errors import BadInput
from gilviz.core.recording.reader import Recording
from gilviz.tui.screens.base import MIN_H, MIN_W

DEFAULT_SIZE = (120, 40)  # a recording that does not say its terminal's size
MAX_W, MAX_H = 1000, 500
DEFAULT_FPS = 4.0  # the TUI's panel rate
HOLD_S = 2.0  # seconds of the cast each scene's last frame stays
TERM = "xterm-256color"
# Hide the cursor, no autowrap (a line may end in the last column), clear; and at the end
# the cursor back, below the picture, as a terminal that plays the cast expects.
START = "\x1b[0m\x1b[?25l\x1b[?7l\x1b[2J"
END = "\x1b[0m\x1b[?7h\x1b[{rows};1H\x1b[?25h"
_SIZE_RE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``--size COLUMNSxROWS``; BadInput if malformed or below what gilviz draws at."""
    m = _SIZE_RE.match(text or "")
    if m is None:
        raise BadInput(f"--size must be COLUMNSxROWS, e.g. 120x40, not {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if w < MIN_W or h < MIN_H:
        raise BadInput(f"--size {w}x{h} is below {MIN_W}x{MIN_H}, the smallest gilviz draws at")
    if w > MAX_W or h > MAX_H:
        raise BadInput(f"--size {w}x{h} is above {MAX_W}x{MAX_H}")
    return w, h


def recorded_size(rec: Recording) -> tuple[tuple[int, int], str | None]:
    """The size of the terminal the session began in, raised to gilviz's least, or
    DEFAULT_SIZE when not recorded; and a note when it is not the recorded size."""
    term = _settings(rec).get("terminal")
    if not (isinstance(term, list) and len(term) == 2 and all(isinstance(v, int) for v in term)):
        w, h = DEFAULT_SIZE
        return DEFAULT_SIZE, f"the recording does not say its terminal's size: {w}x{h}"
    w, h = min(max(term[0], MIN_W), MAX_W), min(max(term[1], MIN_H), MAX_H)
    if (w, h) != tuple(term):
        return (w, h), f"the session's terminal was {term[0]}x{term[1]}; drawn at {w}x{h}"
    return (w, h), None


def recorded_fps(rec: Recording) -> float:
    fps = _settings(rec).get("fps")
    return float(fps) if isinstance(fps, int | float) and 0.2 <= fps <= 30 else DEFAULT_FPS


def _settings(rec: Recording) -> dict[str, Any]:
    settings = (rec.header or {}).get("settings")
    return settings if isinstance(settings, dict) else {}


def title_of(rec: Recording, scenes: list[Any]) -> str:
    """The cast's title: the command, then the first scene's preset or workload."""
    command = _settings(rec).get("command") or "session"
    first = scenes[0]
    what = f"{first.preset.name}: {first.preset.title}" if first.preset else first.plan.label
    more = f" (and {len(scenes) - 1} more)" if len(scenes) > 1 else ""
    return f"gilviz {command} · {what}{more}"


class _Clock:
    """The player's and the charts' clock: moved by the export, never by the wall."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class CastStats:
    frames: int = 0
    events: int = 0
    bytes: int = 0
    duration_s: float = 0.0
    stopped: int | None = None  # the app's return code when a signal cut the export short


class _Headless:
    """The app on a recording, headless, one scene's screen at a time."""

    def __init__(self, rec: Recording, name: str, size: tuple[int, int], fps: float, hold_s: float):
        from gilviz.tui.controllers.player import machine_of, player_for, scenes_of

        if not rec.runs:
            raise BadInput(f"{name}: the recording holds no run")
        self.rec = rec
        self.size = size
        self.clock = _Clock()
        self.scenes = scenes_of(rec)
        self.player = player_for(name, rec, clock=self.clock, scenes=self.scenes, hold_s=hold_s)
        self.player.seek_to(0.0)  # position = clock, from now on
        self.machine = machine_of(rec)
        self.fps = fps
        self.title = title_of(rec, self.scenes)
        self._shown = -1

    def _screen(self, k: int):
        from gilviz.tui.screens.recorded import screen_for

        self._shown = k
        return screen_for(self.scenes[k], self.machine.cores_usable)

    async def run(self, body: Callable[[Any, Any], Awaitable[None]], start: float) -> Any:
        """Open the app on the scene at ``start`` (s into the recording), then ``body``."""
        from gilviz.tui.app import GilvizApp
        from gilviz.tui.lazy import import_plotext
        from gilviz.tui.style import Look

        import_plotext()  # once, before the first chart
        self.clock.now = start
        first = self._screen(self.player.scene())
        hz = next((m.sample_hz for m in self.rec.models if m.sample_hz), None)
        app = GilvizApp(
            deck=[],
            controller=self.player,
            machine=self.machine,
            fps=self.fps,
            sample_hz=hz or 50.0,
            look=Look(),
            record_results=False,
            dashboard_cls=lambda preset=None: first,
            clock=self.clock,
            ticking=False,
        )
        async with app.run_test(size=self.size) as pilot:
            await pilot.pause()
            await body(app, pilot)
        return app

    async def show(self, app: Any, pilot: Any, pos: float) -> None:
        """The screen at ``pos`` seconds into the recording, drawn: one tick, as the live
        app ticks once a frame; the clock moves with it (a chart's timer that fires while
        the screen changes must not draw the next moment's chart with this one's data)."""
        k = self.player.scene(pos)
        if k != self._shown:
            await app.switch_screen(self._screen(k))
            await pilot.pause()
        self.clock.now = pos
        app.tick()
        await pilot.pause()


#: Control characters in a cell's text (a watched command's newlines) take no cell on the
#: screen Textual lays out, but would move a real terminal's cursor: they are left out.
_CONTROLS = dict.fromkeys([*range(0x20), 0x7F])


def _lines(app: Any, console: Console) -> list[str]:
    """The screen as one ANSI string per row (what Textual's screenshot renders)."""
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    rows = []
    for row in update.strips:
        rows.append(
            "".join(
                Strip([Segment(seg.text.translate(_CONTROLS), seg.style) for seg in strip]).render(
                    console
                )
                for strip in row
            )
        )
    return rows


def write_cast(
    rec: Recording,
    out: TextIO,
    *,
    name: str,
    size: tuple[int, int],
    fps: float,
    speed: float = 1.0,
    hold_s: float = HOLD_S,
) -> CastStats:
    """Play ``rec`` into ``out`` as an asciicast v2 stream; returns what was written."""
    headless = _Headless(rec, name, size, fps, hold_s * speed)
    player = headless.player
    w, h = size
    header = {
        "version": 2,
        "width": w,
        "height": h,
        "timestamp": int((rec.header or {}).get("created") or 0),
        "title": headless.title,
        "env": {"TERM": TERM},
    }
    stats = CastStats()

    def emit(t: float, data: str) -> None:
        line = json.dumps([round(t, 6), "o", data], ensure_ascii=False) + "\n"
        out.write(line)
        stats.events += 1
        stats.bytes += len(line.encode())
        stats.duration_s = t

    out.write(json.dumps(header, ensure_ascii=False) + "\n")
    cast_s = player.duration_s / speed
    console = Console(
        width=w,
        height=h,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        safe_box=False,
    )

    async def body(app: Any, pilot: Any) -> None:
        prev: list[str] | None = None
        k = 0
        while True:
            t = min(k / fps, cast_s)
            await headless.show(app, pilot, min(t * speed, player.duration_s))
            if app.return_code is not None:  # ended by a signal: what is written stands
                stats.stopped = app.return_code
                return
            rows = _lines(app, console)
            data = "".join(
                f"\x1b[{y + 1};1H{row}"
                for y, row in enumerate(rows)
                if prev is None or prev[y] != row
            )
            stats.frames += 1
            if prev is None:
                data = START + data
            if data:
                emit(t, data)
                out.flush()
            prev = rows
            if t >= cast_s:
                stats.duration_s = cast_s
                break
            k += 1

    try:
        asyncio.run(headless.run(body, 0.0))
    finally:
        # The terminal that plays the cast gets its cursor and line wrap back, even when a
        # signal or Ctrl-C cut the export short.
        emit(stats.duration_s, END.format(rows=h))
        out.flush()
    return stats


def check_moment(rec: Recording, name: str, at: float) -> float:
    """``--at``, if within the replay (the runs end to end, as ``gilviz replay`` plays them);
    else BadInput."""
    from gilviz.tui.controllers.player import player_for

    duration = player_for(name, rec).duration_s
    if not 0 <= at <= duration:
        raise BadInput(f"--at {at:g}: the replay of {name} lasts {duration:.2f} s")
    return at


def svg(rec: Recording, *, name: str, size: tuple[int, int], at: float | None = None) -> str:
    """The screen at ``at`` seconds into the replay (None: its end), as an SVG."""
    headless = _Headless(rec, name, size, DEFAULT_FPS, 0.0)
    player = headless.player
    pos = player.duration_s if at is None else check_moment(rec, name, at)
    result: list[str] = []

    async def body(app: Any, pilot: Any) -> None:
        await headless.show(app, pilot, pos)
        result.append(app.export_screenshot(title=headless.title))

    asyncio.run(headless.run(body, pos))
    return result[0]
