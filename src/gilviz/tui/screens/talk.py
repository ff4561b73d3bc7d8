"""Talk mode: a deck of presets, one per step, full screen, no mouse needed.

Each step starts its runs by itself (the previous run is stopped cleanly first), shows the
live panels, then the preset's claim checked against what was measured (✓/✗ and figures).
n/space/→ next, p/← previous, r rerun, b blank, +/- the switch interval, live, in the
convoy and switch-interval presets.
"""

from __future__ import annotations

import textwrap

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from gilviz.core import report
from gilviz.core.protocol import Switch
from gilviz.core.teaching.presets import ClaimResult, Preset
from gilviz.tui import deck as gdeck
from gilviz.tui.controllers.base import QUEUED_TEXT, Plan, Progress
from gilviz.tui.screens.live import LiveRunScreen
from gilviz.tui.style import DIM, ERROR, GOOD
from gilviz.tui.widgets.base import Line, LinesWidget, fit
from gilviz.tui.widgets.info import TitleBar, status_text

BANNER = Style(bold=True, color="#282c34", bgcolor="#e5c07b")
BANNER_DIM = Style(color="#3e4451", bgcolor="#e5c07b")
UNSURE = Style(color="#e0b341", bold=True)
MIN_SWITCH, MAX_SWITCH = 1e-5, 0.5


class Banner(LinesWidget):
    """A three-row title band with the step counter ("3/14")."""

    DEFAULT_CSS = "Banner { height: 3; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.title_text = ""
        self.step = ""
        self.tag = ""

    def set(self, title: str, step: str, name: str) -> None:
        self.title_text, self.step, self.tag = title, step, name
        self.redraw()

    def build(self, width: int, height: int) -> list[Line]:
        title = fit([self.title_text.upper()], max(10, width - 2 * (len(self.step) + 4)))
        pad = (width - len(title)) // 2
        mid = Line().add(" " * pad, BANNER).add(title, BANNER)
        mid.add(" " * max(0, width - mid.length - len(self.step) - 2), BANNER)
        mid.add(self.step + "  ", BANNER)
        top = Line().add(f"  {self.tag}".ljust(width), BANNER_DIM)
        bottom = Line().add(" " * width, BANNER)
        return [top, mid, bottom]


class ClaimLine(LinesWidget):
    """The claim, ✓/✗ with its figures, wrapped to two lines at most."""

    DEFAULT_CSS = "ClaimLine { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.mark = ""
        self.text = ""
        self.style = DIM

    def set(self, mark: str, text: str, style: Style) -> None:
        self.mark, self.text, self.style = mark, text, style
        self.refresh(layout=True)
        self.redraw()

    def _wrapped(self, width: int) -> list[str]:
        lead = f"{self.mark} " if self.mark else ""
        lines = textwrap.wrap(lead + self.text, max(10, width), subsequent_indent="  ") or [""]
        if len(lines) > 2:
            lines = [lines[0], fit([lines[1] + " …"], width)]
        return lines

    def wanted_height(self, width: int) -> int:
        return len(self._wrapped(width))

    def build(self, width: int, height: int) -> list[Line]:
        return [Line().add(t, self.style) for t in self._wrapped(width)]


class BlankScreen(ModalScreen):
    """Nothing at all, until b (or esc, or space) is pressed again."""

    BINDINGS = [Binding("b,escape,space", "dismiss", "back", show=False)]
    DEFAULT_CSS = "BlankScreen { background: black; }"

    def compose(self) -> ComposeResult:
        yield Static("")


class TalkScreen(LiveRunScreen):
    BINDINGS = [
        Binding("n,space,right", "step(1)", "next"),
        Binding("p,left", "step(-1)", "previous"),
        Binding("r", "rerun", "rerun"),
        Binding("b", "blank", "blank"),
        Binding(
            "plus,equals_sign",
            "switch(2.0)",
            "interval",
            key_display="+/-",
            tooltip="longer switch interval",
        ),
        Binding("minus", "switch(0.5)", "shorter switch interval", show=False),
        Binding("s", "stop", "stop the run", show=False),
        Binding("down", "scroll_workers(1)", "scroll workers down", show=False),
        Binding("up", "scroll_workers(-1)", "scroll workers up", show=False),
    ]

    def __init__(self, start: int = 0, **kw) -> None:
        super().__init__(**kw)
        self.index = start
        self._progress = Progress()
        self._claim_for = -1
        self.switch_s: float | None = None  # chosen live by the presenter
        self._switch_sent: tuple[int, int] | None = None

    @property
    def preset(self) -> Preset | None:
        deck = self.app.deck
        return deck[self.index] if deck else None

    def compose_body(self) -> ComposeResult:
        app = self.app
        self.banner = Banner(look=app.look)
        self.narration = TitleBar(app.machine, narration_lines=3, look=app.look)
        self.claim = ClaimLine(look=app.look)
        yield self.banner
        yield self.narration
        yield self.make_status()
        yield self.make_panels()
        yield self.claim

    def on_mount(self) -> None:
        self.go(self.index)

    # --- steps ---------------------------------------------------------------------------

    def plan(self, preset: Preset) -> Plan:
        # A pool this Python lacks is not run; the step says so (and its claim, undecided).
        m = self.app.machine
        shown, note = gdeck.runnable_part(preset, m.pools, m.python)
        return Plan(
            label=preset.name,
            make_specs=lambda url: gdeck.specs(shown, url),
            needs_server=gdeck.needs_server(preset.workload),
            delay_s=gdeck.delay_s(preset),
            preset_name=preset.name,
            kind="talk",
            labels=tuple(pc.display for pc in shown.pools),
            preset=preset,
            step=(self.index, len(self.app.deck)),
            note=note,
        )

    def go(self, index: int) -> None:
        deck = self.app.deck
        if not deck:
            self.banner.set("no presets in this deck", "0/0", "")
            return
        self.index = index % len(deck)
        p = deck[self.index]
        self.show_step(p, self.index, len(deck))
        self.start_plan(self.plan(p))

    def show_step(self, p: Preset, index: int, count: int) -> None:
        """The step's banner, narration and a claim still to be checked."""
        self.banner.set(p.title, f"{index + 1}/{count}", f"{p.name} · teaches: {p.teaches}")
        self.narration.set(
            " · ".join(pc.pool for pc in p.pools)
            + f" · {p.workload}"
            + (f" × {p.tasks} tasks" if p.tasks else ""),
            " ".join(p.narration),
            right="talk mode",
        )
        self.switch_s = None
        self._switch_sent = None
        self.claim.set("", "running… the claim is checked against the measurement at the end", DIM)
        self._claim_for = -1

    def action_step(self, delta: int) -> None:
        self.go(self.index + delta)

    def action_rerun(self) -> None:
        self.go(self.index)

    def action_stop(self) -> None:
        self.stop_run()

    def action_blank(self) -> None:
        self.app.push_screen(BlankScreen())

    def action_switch(self, factor: float) -> None:
        if not gdeck.is_live_switch(self.preset):
            self.app.notify(
                "+/- change the switch interval in the convoy and switch-interval presets"
            )
            return
        spec = self._progress.spec
        base = self.switch_s or (spec.switch_interval if spec and spec.switch_interval else 0.005)
        self.switch_s = min(MAX_SWITCH, max(MIN_SWITCH, base * factor))
        self._send_switch(force=True)
        self._update_status()

    def _send_switch(self, force: bool = False) -> None:
        p = self._progress
        if self.switch_s is None or p.state != "running":  # queued: no runner of ours yet
            return
        key = (p.generation, p.index)
        if force or key != self._switch_sent:
            self.send_to_runner(Switch(self.switch_s))
            self._switch_sent = key

    # --- live ----------------------------------------------------------------------------

    def _update_status(self) -> None:
        p = self._progress
        snap = p.snapshot
        text = status_text(snap) if snap else "starting…"
        if p.state == "queued":
            text = QUEUED_TEXT
        if p.specs:
            text = self.run_of(p) + text
        extra = ""
        if gdeck.is_live_switch(self.preset):
            spec = p.spec
            now = self.switch_s or (spec.switch_interval if spec else None)
            shown = "default (5 ms)" if now is None else f"{now * 1000:g} ms"
            extra = f"switch interval {shown}{' (set live)' if self.switch_s else ''} · +/- to change it in the runner"
        # What this step or the deck leaves out because this Python lacks a pool.
        note = (p.plan.note if p.plan else None) or self.app.deck_note
        if note:
            extra = f"{extra}\n{note}" if extra else note
        state, error = self.run_state(p)
        self.status.set(state, text, error, extra)

    def show_progress(self, progress: Progress) -> None:
        if not self.is_mine(progress):
            return
        self._progress = progress
        self._send_switch()
        self.show_panels(progress)
        self.narration.set_python(report.snapshot_python(progress.snapshot))
        self._update_status()
        if progress.finished and self._claim_for != progress.generation:
            self._claim_for = progress.generation
            self._show_claim(progress)

    def check_claim(self, preset: Preset, runs: list[dict]) -> ClaimResult:
        """The claim checked on this machine (a recording's screen: on the recorded one)."""
        return gdeck.check(preset, runs)

    def _show_claim(self, progress: Progress) -> None:
        preset = self.preset
        if preset is None:
            return
        if progress.state == "stopped":
            self.claim.set("–", "stopped before the end: claim not checked (r reruns)", DIM)
            return
        runs = [s for s in progress.summaries if s is not None]
        if progress.state == "failed" and not runs:
            self.claim.set("✗", f"could not run: {progress.error}", ERROR)
            return
        result: ClaimResult = self.check_claim(preset, runs)
        mark, style = {True: ("✓", GOOD), False: ("✗", ERROR), None: ("?", UNSURE)}[result.ok]
        self.claim.set(mark, f"claim: {result.text}", style)
