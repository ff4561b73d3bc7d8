"""Talk mode: a deck of presets, one per step, full screen, no mouse needed.

Each step starts its runs by itself (the previous run is stopped cleanly first), shows the
live panels, then the preset's claim checked against what was measured (✓/✗ and figures).
After a step of several runs the board shows every run side by side, labelled, and the
panels show the run the claim is about (1-9 show another). Every text wraps: a title, the
narration and a claim are never cut. n/space/→ next, p/← previous (the deck does not wrap
around), r rerun, b blank, +/- the switch interval in the convoy and switch-interval presets:
live on the run in progress, and kept for a rerun.

    go(i) ─> show_step (banner, narration) ─> start_plan(plan(preset)) ─> app
    app tick ─> show_progress ─> status, panels (the run in progress, then the claim's run),
        board (after several runs), claim
"""

from __future__ import annotations

import textwrap

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from gilviz.core import report
from gilviz.core.model import RunSnapshot
from gilviz.core.protocol import Switch
from gilviz.core.teaching import claims
from gilviz.core.teaching.presets import ClaimResult, Preset
from gilviz.tui import deck as gdeck
from gilviz.tui.controllers.base import QUEUED_TEXT, Plan, Progress
from gilviz.tui.screens.live import LiveRunScreen
from gilviz.tui.style import DIM, ERROR, GOOD, LABEL, ms, pct
from gilviz.tui.widgets.base import Line, LinesWidget
from gilviz.tui.widgets.info import TITLE, session_marks, status_parts, status_text

BANNER = Style(bold=True, color="#282c34", bgcolor="#e5c07b")
BANNER_DIM = Style(color="#3e4451", bgcolor="#e5c07b")
UNSURE = Style(color="#e0b341", bold=True)
MIN_SWITCH, MAX_SWITCH = 1e-5, 0.5
DEFAULT_SWITCH = 0.005  # CPython's sys.getswitchinterval() until someone changes it
#: Pools whose workers share the runner's interpreter: a switch interval sent to the runner
#: while they run reaches them (process and interpreter workers have their own).
SHARED_GIL_POOLS = ("serial", "thread")
ROOMY_H = 30  # from this terminal height on, the banner has a blank row below its title


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Every word of ``text`` on lines of ``width`` at most (nothing cut)."""
    return textwrap.wrap(text, max(10, width), subsequent_indent=indent) or [""]


def wrap_parts(parts: list[str], width: int, sep: str = " · ") -> list[str]:
    """Parts joined with sep, a new line where the next part would not fit (a part longer
    than a line is wrapped by words)."""
    lines = [""]
    for part in parts:
        if not lines[-1]:
            lines[-1] = part
        elif len(lines[-1]) + len(sep) + len(part) <= width:
            lines[-1] += sep + part
        else:
            lines.append(part)
    return [t for line in lines for t in wrap(line, width)]


def interval_text(seconds: float | None) -> str:
    return "default (5 ms)" if seconds is None else f"{seconds * 1000:g} ms"


class Banner(LinesWidget):
    """The step's band: its name, what it teaches and what runs on top; the title, wrapped,
    with the step counter ("3/14"); a blank row below on a tall terminal."""

    DEFAULT_CSS = "Banner { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.title_text = ""
        self.step = ""
        self.tag = ""
        self.roomy = True

    def set(self, title: str, step: str, tag: str) -> None:
        self.title_text, self.step, self.tag = title, step, tag
        self.redraw()

    def set_roomy(self, roomy: bool) -> None:
        if roomy != self.roomy:
            self.roomy = roomy
            self.redraw()

    def _rows(self, width: int) -> tuple[list[str], list[str]]:
        tags = wrap_parts(self.tag.split(" · "), width - 2)
        titles = wrap(self.title_text.upper(), width - 2 * (len(self.step) + 4))
        return tags, titles

    def wanted_height(self, width: int) -> int:
        tags, titles = self._rows(width)
        return len(tags) + len(titles) + (1 if self.roomy else 0)

    def build(self, width: int, height: int) -> list[Line]:
        tags, titles = self._rows(width)
        lines = [Line().add(f"  {t}".ljust(width), BANNER_DIM) for t in tags]
        for i, title in enumerate(titles):
            step = f"{self.step}  " if i == 0 else ""
            pad = (width - len(title)) // 2
            mid = Line().add(" " * pad + title, BANNER)
            mid.add(" " * max(0, width - mid.length - len(step)), BANNER).add(step, BANNER)
            lines.append(mid)
        if self.roomy:
            lines.append(Line().add(" " * width, BANNER))
        return lines


class Narration(LinesWidget):
    """What runs (its pools by their labels, the workload, the tasks) with the session's
    marks (recording, low bandwidth) and the run's interpreter on the right; then the
    narration, every word of it."""

    DEFAULT_CSS = "Narration { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.what: list[str] = []
        self.text = ""
        #: The interpreter of the run on screen, as its runner said; None until it has.
        self.python: str | None = None

    def set(self, what: list[str], text: str) -> None:
        self.what, self.text = what, text
        self.redraw()

    def set_python(self, python: str | None) -> None:
        if python is not None and python != self.python:
            self.python = python
            self.redraw()

    def _right(self) -> list[tuple[str, Style]]:
        mode = "talk mode" + (f" · {self.python}" if self.python else "")
        return [*session_marks(self.app), (mode, DIM)]

    def _rows(self, width: int) -> tuple[list[str], list[str]]:
        right = " · ".join(t for t, _ in self._right())
        return wrap_parts(self.what, width - len(right) - 1), wrap(self.text, width)

    def wanted_height(self, width: int) -> int:
        what, text = self._rows(width)
        return len(what) + len(text)

    def build(self, width: int, height: int) -> list[Line]:
        what, text = self._rows(width)
        right = self._right()
        first = Line().add(what[0], TITLE)
        first.add(" " * max(1, width - len(what[0]) - len(" · ".join(t for t, _ in right))))
        for i, (t, style) in enumerate(right):
            first.add(" · " if i else "", DIM).add(t, style)
        lines = [first, *(Line().add(t, TITLE) for t in what[1:])]
        return lines + [Line().add(t) for t in text]


class ClaimLine(LinesWidget):
    """The claim, ✓/✗ with its figures, every word of it."""

    DEFAULT_CSS = "ClaimLine { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.mark = ""
        self.text = ""
        self.style = DIM

    def set(self, mark: str, text: str, style: Style) -> None:
        self.mark, self.text, self.style = mark, text, style
        self.redraw()

    def _wrapped(self, width: int) -> list[str]:
        lead = f"{self.mark} " if self.mark else ""
        return wrap(lead + self.text, width, indent="  ")

    def wanted_height(self, width: int) -> int:
        return len(self._wrapped(width))

    def build(self, width: int, height: int) -> list[Line]:
        return [Line().add(t, self.style) for t in self._wrapped(width)]


class RunsBoard(LinesWidget):
    """A step's runs side by side once it has ended: each labelled, with the figures its
    claim reads (wall, speedup, GIL wait, heartbeat p99, parallelism), its outcome or its
    error whole; ▶ marks the run the panels below show."""

    DEFAULT_CSS = "RunsBoard { height: auto; }"
    TITLES = ("wall", "speedup", "GIL wait", "heartbeat p99", "cpu/wall")
    WIDTHS = (9, 9, 10, 15, 10)
    NARROW = (8, 8, 9, 14, 9)  # below 100 columns
    METHODS = (
        "each figure over its whole run · speedup: serial wall / this wall · GIL wait: "
        "share of busy time · heartbeat p99: how late a 1 ms sleep wakes up · cpu/wall: "
        "cores kept busy"
    )

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.progress = Progress()
        self.shown: int | None = None
        self.about: list[int] = []  # the runs the claim names
        self.note = ""  # what the panels below show, and the keys
        self.intervals = ""  # the switch interval each run had, when the presenter chose one
        self.compact = False  # a short terminal: no line of methods (the titles name them)

    def set(
        self, progress: Progress, shown: int | None, about: list[int], note: str, intervals: str
    ) -> None:
        self.progress, self.shown, self.about = progress, shown, about
        self.note, self.intervals = note, intervals
        self.redraw()

    def wanted_height(self, width: int) -> int:
        return len(self.build(width, 0))

    def build(self, width: int, height: int) -> list[Line]:
        p = self.progress
        if not p.specs:
            return [Line()]
        names = [
            f"{i + 1} {p.plan.label_of(i, s) if p.plan else s.pool}" for i, s in enumerate(p.specs)
        ]
        widths = self.WIDTHS if width >= 100 else self.NARROW
        label_w = max(12, min(max(len(n) for n in names) + 3, width - sum(widths)))
        head = Line().add("  " + "run".ljust(label_w - 2), LABEL)
        for title, w in zip(self.TITLES, widths, strict=True):
            head.add(title.rjust(w), LABEL)
        lines = [head]
        for i, spec in enumerate(p.specs):
            summary = p.summaries[i] if i < len(p.summaries) else None
            mark = "▶ " if i == self.shown else "  "
            style = Style(bold=True) if i in self.about else None
            name = names[i]
            if len(name) > label_w - 3:  # a long label gets a line of its own
                lines.append(Line().add(mark + name, style))
                mark, name = "  ", ""
            line = Line().add(mark + name.ljust(label_w - 2), style)
            if summary is None:
                lines.append(line.add("– not run" if p.finished else "· waiting", DIM))
                continue
            if summary.get("error"):
                indent = label_w + 2
                error = wrap("✗ failed: " + summary["error"], width - indent)
                lines.append(line.add(error[0], ERROR))
                lines += [Line().add(" " * indent + t, ERROR) for t in error[1:]]
                continue
            lat = summary.get("latency_ms") or {}
            speed = summary.get("speedup")
            cells = [
                "n/a" if summary.get("wall_s") is None else f"{summary['wall_s']:.2f} s",
                "n/a" if speed is None else f"{speed:.2f}x",
                pct((summary.get("gil") or {}).get("contention")),
                ms(lat.get("p99")),
                "n/a" if summary.get("parallelism") is None else f"{summary['parallelism']:.2f}",
            ]
            for text, w in zip(cells, widths, strict=True):
                line.add(text.rjust(w))
            lines.append(line)
            outcome = report.outcome_text(summary.get("outcome"), spec.pool)
            for t in wrap(outcome, width - label_w) if outcome else ():
                lines.append(Line().add(" " * label_w + t, LABEL))
        if not self.compact:
            lines += [Line().add(t, DIM) for t in wrap(self.METHODS, width)]
        if self.intervals:
            lines += [Line().add(t) for t in wrap(self.intervals, width)]
        if self.note:
            lines += [Line().add(t, DIM) for t in wrap(self.note, width)]
        return lines


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
        Binding(
            "1", "show_run(0)", "after several runs: run 1's panels (2-9 likewise)", show=False
        ),
        *(Binding(str(i + 1), f"show_run({i})", "", show=False) for i in range(1, 9)),
    ]

    def __init__(self, start: int = 0, **kw) -> None:
        super().__init__(**kw)
        self.index = start
        self._progress = Progress()
        self._claim_for = -1
        #: The presenter's switch interval for this step (+/-): kept for a rerun.
        self.switch_s: float | None = None
        self._switch_sent: tuple[int, int] | None = None
        self._started_with: float | None = None  # the interval the plan's runs started with
        self._live: dict[int, tuple[float, float]] = {}  # run -> (interval, set at elapsed s)
        self.shown: int | None = None  # the run whose panels show once the plan has ended
        self._chosen = False  # shown was chosen with 1-9
        self._suspended = False  # a screen was opened on top of this one
        #: The step's preset cut to the pools this Python has: the plan's runs, in order.
        self._runs_preset: Preset | None = None

    @property
    def preset(self) -> Preset | None:
        deck = self.app.deck
        return deck[self.index] if deck else None

    def compose_body(self) -> ComposeResult:
        app = self.app
        self.banner = Banner(look=app.look)
        self.narration = Narration(look=app.look)
        self.board = RunsBoard(look=app.look)
        self.board.display = False
        self.claim = ClaimLine(look=app.look)
        yield self.banner
        yield self.narration
        yield self.make_status()
        yield self.board
        yield self.claim
        yield self.make_panels()

    def on_mount(self) -> None:
        self.go(self.index)

    def on_screen_suspend(self) -> None:
        self._suspended = True

    def on_screen_resume(self) -> None:
        """Back from a screen opened on top (the table, help, a dashboard): the same step.
        A run started meanwhile by another screen has replaced this step's run."""
        if not self._suspended:
            return  # pushed for the first time
        self._suspended = False
        p = self.app.progress
        replaced = p.plan is not None and self._plan is not None and not self.is_mine(p)
        if replaced and not self._progress.finished:
            self._progress = Progress(plan=self._plan, specs=self._progress.specs, state="stopped")
            self.status.set("stopped", "another screen started a run: r reruns this step")
            self.claim.set("–", "stopped before the end: claim not checked (r reruns)", DIM)
            self.claim.display = True
        self._fit_panels()

    # --- steps ---------------------------------------------------------------------------

    def plan(self, preset: Preset) -> Plan:
        # A pool this Python lacks is not run; the step says so (and its claim, undecided).
        m = self.app.machine
        shown, note = gdeck.runnable_part(preset, m.pools, m.python)
        self._runs_preset = shown
        switch = self.switch_s
        own = [pc.switch_interval for pc in shown.pools]

        def make(url: str | None):
            specs = gdeck.specs(shown, url)
            if switch is None:
                return specs
            # the presenter's interval, from the start, on every run without one of its own
            return [
                s if o is not None else s.with_(switch_interval=switch)
                for s, o in zip(specs, own, strict=False)
            ]

        return Plan(
            label=preset.name,
            make_specs=make,
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
        index = max(0, min(len(deck) - 1, index))
        if index != self.index:
            self.switch_s = None  # the presenter's interval belongs to its step
        self.index = index
        p = deck[index]
        self.show_step(p, index, len(deck))
        self._started_with = self.switch_s
        self.start_plan(self.plan(p))

    def show_step(self, p: Preset, index: int, count: int) -> None:
        """The step's banner, narration and a claim still to be checked."""
        tag = [p.name] + ([f"teaches: {p.teaches}"] if p.teaches else [])
        self.banner.set(p.title, f"{index + 1}/{count}", " · ".join(tag))
        what = [pc.display for pc in p.pools]
        what.append(p.workload + (f" × {p.tasks} tasks" if p.tasks else ""))
        self.narration.set(what, " ".join(p.narration))
        self._switch_sent = None
        self._live = {}
        self.shown, self._chosen = None, False
        self.board.display = False
        self.claim.set("", "running… the claim is checked against the measurement at the end", DIM)
        self.claim.display = not self.board.compact  # a short terminal: rows for the panels
        self._claim_for = -1
        self._fit_panels()

    def action_step(self, delta: int) -> None:
        deck = self.app.deck
        target = self.index + delta
        if deck and target >= len(deck):
            end = f"{len(deck)}/{len(deck)} · the end"
            self.banner.set(deck[self.index].title, end, self.banner.tag)
            self.app.notify(
                f"The deck has ended: {len(deck)}/{len(deck)} was its last step. "
                "p goes back, r reruns this step, q quits.",
                title="end of the deck",
            )
            return
        if deck and target < 0:
            self.app.notify("This is the first step of the deck: n goes on.")
            return
        self.go(target)

    def action_rerun(self) -> None:
        self.go(self.index)

    def action_stop(self) -> None:
        self.stop_run()

    def action_blank(self) -> None:
        self.app.push_screen(BlankScreen())

    def action_show_run(self, i: int) -> None:
        p = self._progress
        if not (p.finished and len(p.specs) > 1):
            self.app.notify(
                "1-9 choose the run the panels show once a step of several runs has ended"
            )
            return
        if i >= len(p.specs) or i >= len(p.finals) or p.finals[i] is None:
            self.app.notify(f"no run {i + 1} to show in this step", severity="warning")
            return
        self.shown, self._chosen = i, True
        self._show_finished(p)

    # --- the switch interval -------------------------------------------------------------

    def _pools(self) -> tuple:
        """The pools of the step's runs, in order (a pool this Python lacks is not run)."""
        preset = self._runs_preset or self.preset
        return preset.pools if preset is not None else ()

    def _has_own(self, i: int) -> bool:
        pools = self._pools()
        return i < len(pools) and pools[i].switch_interval is not None

    def action_switch(self, factor: float) -> None:
        preset = self.preset
        if not gdeck.is_live_switch(preset):
            self.app.notify(
                "+/- change the switch interval in the convoy and switch-interval presets"
            )
            return
        p = self._progress
        running = p.state == "running" and self.is_mine(p)
        if not running and all(self._has_own(i) for i in range(len(self._pools()))):
            self.app.notify(
                "each run of this step starts at its own switch interval (its label): "
                "+/- change the run in progress"
            )
            return
        spec = p.spec if running else None
        base = self.switch_s or (spec.switch_interval if spec else None) or DEFAULT_SWITCH
        self.switch_s = min(MAX_SWITCH, max(MIN_SWITCH, base * factor))
        self._send_switch(force=True)
        self._update_status()

    def _send_switch(self, force: bool = False) -> None:
        """The presenter's interval to the run in progress: at once (+/-), or as a later run
        of the plan starts. Never to process or interpreter workers: the runner's interval
        does not reach them (a rerun starts them with it)."""
        p = self._progress
        spec = p.spec
        if self.switch_s is None or p.state != "running" or spec is None:
            return  # queued: no runner of ours yet
        key = (p.generation, p.index)
        if key == self._switch_sent and not force:
            return
        self._switch_sent = key
        if spec.pool not in SHARED_GIL_POOLS:
            return
        if not force and (self._has_own(p.index) or spec.switch_interval == self.switch_s):
            return  # its own interval, or started with this one
        self.send_to_runner(Switch(self.switch_s))
        elapsed = p.snapshot.elapsed_s if p.snapshot else 0.0
        self._live[p.index] = (self.switch_s, elapsed)

    def _interval_of(self, i: int, spec) -> str:
        """The switch interval run i ran with, and where it came from."""
        if i in self._live:
            value, at = self._live[i]
            return f"{interval_text(value)} (set live at {at:.1f} s)"
        if spec.switch_interval is None:
            return interval_text(None)
        if self._has_own(i):
            return f"{interval_text(spec.switch_interval)} (its own)"
        return f"{interval_text(spec.switch_interval)} (yours, from the start)"

    def _switch_status(self, p: Progress) -> str:
        """Which run the switch interval applies to, and what +/- and r will do."""
        preset = self.preset
        if not gdeck.is_live_switch(preset):
            return ""
        yours = self.switch_s
        spec = p.spec
        if p.state == "running" and spec is not None and self.is_mine(p):
            name = p.plan.label_of(p.index, spec) if p.plan else spec.pool
            text = (
                f"switch interval on run {p.index + 1}/{len(p.specs)} ({name}): "
                f"{self._interval_of(p.index, spec)}"
            )
            if (
                yours is not None
                and spec.pool not in SHARED_GIL_POOLS
                and (p.index not in self._live and spec.switch_interval != yours)
            ):
                text += (
                    f" · yours ({interval_text(yours)}) does not reach process workers "
                    "live: r reruns every run with it"
                )
            return text + " · +/- change it"
        if all(self._has_own(i) for i in range(len(self._pools()))):
            return "each run has its own switch interval · +/- change the one in progress"
        if yours is None:
            return "switch interval 5 ms (default), every run · +/- sets it live, r reruns with it"
        if p.finished and self._started_with == yours and not self._live:
            return f"every run ran with your switch interval, {interval_text(yours)} · r reruns with it"
        return f"switch interval {interval_text(yours)} (yours): r reruns every run with it"

    def _extra(self, p: Progress) -> str:
        """The status line's lines below: the switch interval, and what this step or the
        deck leaves out because this Python lacks a pool."""
        note = (p.plan.note if p.plan else None) or self.app.deck_note
        return "\n".join(x for x in (self._switch_status(p), note) if x)

    # --- live ----------------------------------------------------------------------------

    def _subjects(self, p: Progress) -> list[int]:
        """The runs the claim names, in its order."""
        preset = self.preset
        if preset is None or not preset.claim:
            return []
        keys = [pc.key for pc in self._pools()]
        return [keys.index(k) for k in claims.subjects(preset.claim) if k in keys]

    def _pick_shown(self, p: Progress) -> int | None:
        """The run the panels show after the plan: the first the claim names that ran long
        enough to measure, else the first it names that ran, else the last that ran."""
        ran = [i for i, f in enumerate(p.finals) if f is not None]
        if not ran:
            return None
        about = [i for i in self._subjects(p) if i in ran]
        for i in about:
            s = p.summaries[i] if i < len(p.summaries) else None
            if s is not None and not s.get("too_short"):
                return i
        return about[0] if about else ran[-1]

    def _run_name(self, p: Progress, i: int) -> str:
        spec = p.specs[i]
        return p.plan.label_of(i, spec) if p.plan else spec.pool

    def _update_status(self) -> None:
        p = self._progress
        if p.finished and len(p.specs) > 1 and self.shown is not None:
            self._show_finished(p)
            return
        snap = p.snapshot
        text = status_text(snap) if snap else "starting…"
        if p.state == "queued":
            text = QUEUED_TEXT
        elif snap is not None and len(p.specs) > 1:
            # the run by its label: "run 2/3 · threads ×4 · 1.2 s · …"
            parts = status_parts(snap)
            parts[0] = f"{self._run_name(p, p.index)} ×{snap.workers_requested}"
            text = f"run {p.index + 1}/{len(p.specs)} · " + " · ".join(parts)
        state, error = self.run_state(p)
        self.status.set(state, text, error, self._extra(p))

    def _show_finished(self, p: Progress) -> None:
        """A plan of several runs has ended: the board, and the panels of one run."""
        if not self._chosen or self.shown is None:
            self.shown = self._pick_shown(p)
        about = self._subjects(p)
        i = self.shown
        snap: RunSnapshot | None = p.finals[i] if i is not None else None
        self.panels.show(snap, self.chart_runs(p))
        n = len(p.specs)
        failed = [k for k, r in enumerate(p.summaries) if r is not None and r.get("error")]
        ran = sum(1 for r in p.summaries if r is not None)
        state = "failed" if failed and len(failed) == ran else p.state
        text = f"{ran} of {n} runs ended · " + (
            f"{len(failed)} failed (each error below, whole)"
            if failed
            else "each run's figures below"
        )
        self.status.set(state, text, p.error, self._extra(p))
        note = ""
        if i is not None:
            why = (
                "chosen with its key"
                if self._chosen
                else "the run the claim is about"
                if i in about
                else "the last run"
            )
            name = f"run {i + 1}, {self._run_name(p, i)}"
            note = (
                f"▶ panels below: {name}, {why} · 1-{n}: another"
                if self.panels.display
                else f"▶ {name}, {why} (its panels need a taller terminal)"
            )
        intervals = ""
        if gdeck.is_live_switch(self.preset) and (self._live or self._started_with):
            intervals = "switch interval per run: " + " · ".join(
                f"{self._run_name(p, k)} {self._interval_of(k, spec)}"
                for k, spec in enumerate(p.specs)
                if k < len(p.summaries) and p.summaries[k] is not None
            )
        self.board.set(p, i, about, note, intervals)
        if not self.board.display:
            self.board.display = True
            self._fit_panels()

    def show_progress(self, progress: Progress) -> None:
        if not self.is_mine(progress):
            return
        if progress.generation != self._progress.generation:
            self.shown, self._chosen = None, False
        self._progress = progress
        self._send_switch()
        self.narration.set_python(report.snapshot_python(progress.snapshot))
        if progress.finished and len(progress.specs) > 1 and any(progress.finals):
            self._show_finished(progress)
        else:
            if self.board.display:
                self.board.display = False
                self._fit_panels()
            self.show_panels(progress)
            self._update_status()
        if progress.finished and self._claim_for != progress.generation:
            self._claim_for = progress.generation
            self._show_claim(progress)
            self._fit_panels()

    def check_claim(self, preset: Preset, runs: list[dict]) -> ClaimResult:
        """The claim checked on this machine (a recording's screen: on the recorded one)."""
        return gdeck.check(preset, runs)

    def _show_claim(self, progress: Progress) -> None:
        preset = self.preset
        if preset is None:
            return
        self.claim.display = True
        if progress.state == "stopped":
            self.claim.set("–", "stopped before the end: claim not checked (r reruns)", DIM)
            return
        runs = [s for s in progress.summaries if s is not None]
        if progress.state == "failed" and not runs:
            self.claim.set("✗", f"could not run: {progress.error}", ERROR)
            return
        self.claim.display = True
        result: ClaimResult = self.check_claim(preset, runs)
        mark, style = {True: ("✓", GOOD), False: ("✗", ERROR), None: ("?", UNSURE)}[result.ok]
        self.claim.set(mark, f"claim: {result.text}", style)

    # --- room ----------------------------------------------------------------------------

    def fit_to(self, width: int, height: int) -> None:
        super().fit_to(width, height)
        self.banner.set_roomy(height >= ROOMY_H)
        self.board.compact = height < ROOMY_H
        if self._claim_for == -1:  # still running: its placeholder only on a tall terminal
            self.claim.display = height >= ROOMY_H
        self._fit_panels(width, height)

    def _fit_panels(self, width: int | None = None, height: int | None = None) -> None:
        """The panels take the rows the texts leave. After a plan of several runs, when the
        board leaves too few for them, the charts give way, then the panels: the figures and
        the claim stay whole."""
        if not self.is_mounted:
            return
        width = width or self.size.width
        height = height or self.size.height
        if width <= 0 or height <= 0:
            return
        inner = width - 2  # the body's padding
        used = 1 + sum(  # the footer
            w.wanted_height(inner)
            for w in (self.banner, self.narration, self.status, self.board, self.claim)
            if w.display
        )
        room = height - used
        timelines = self.panels.cores.wanted_height(inner) + 4  # cores, one worker row
        show = not self.board.display or room >= timelines
        charts = not self.board.display or room >= timelines + 7
        self.panels.show_charts(charts)
        if show != self.panels.display:
            self.panels.display = show
            if show:
                self.panels.fit_to(width, height)
            if self.board.display and self._progress.finished:
                self.call_after_refresh(self._show_finished, self._progress)
