"""The gilviz app: one controller (one run at a time), one timer that polls it at the panel
rate, and the screens that draw what it hands out.

    timer (--fps, default 4 Hz) ─> controller.poll() ─> Progress ─> screen.progress (reactive)
    keys/palette ─> screen actions ─> StartPlan / StopRun / SendToRunner / OpenRace messages
        ─> app ─> controller (in the main thread: Run.start arms PR_SET_PDEATHSIG there)

Quitting (q, ctrl+c, SIGTERM, SIGHUP) stops the run and every child before the app exits,
and the terminal is restored by Textual's normal exit path; when the terminal itself is gone
(SIGHUP from a hung-up tty: SSH dropped, tmux killed) the runs are stopped and the process
leaves at once, since there is nothing left to restore or to write to.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from gilviz.core.teaching.presets import Preset
from gilviz.tui.controllers.base import Controller, Plan, Progress
from gilviz.tui.lazy import after_first_frame
from gilviz.tui.machine import Machine
from gilviz.tui.messages import OpenPreset, OpenRace, OpenScreen, SendToRunner, StartPlan, StopRun
from gilviz.tui.screens.base import GilvizScreen
from gilviz.tui.style import Look


def _terminal_alive() -> bool:
    """Whether our terminal still answers (a hung-up tty fails with EIO)."""
    try:
        import termios
    except ImportError:
        return True
    try:
        termios.tcgetattr(sys.__stdin__.fileno())
        return True
    except (termios.error, OSError, ValueError, AttributeError):
        return False


class PresetCommands(Provider):
    """The command palette lists every preset of the deck."""

    def _items(self):
        app = self.app
        for p in app.deck:
            yield (
                f"Preset: {p.name} — {p.title}",
                p,
                f"{p.workload} on {', '.join(pc.pool for pc in p.pools)}",
            )

    async def discover(self) -> Hits:
        for text, preset, help_text in self._items():
            yield DiscoveryHit(text, partial(self.app.open_preset, preset.name), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, preset, help_text in self._items():
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(self.app.open_preset, preset.name),
                    help=help_text,
                )


class GilvizApp(App[int]):
    CSS_PATH = "gilviz.tcss"
    TITLE = "gilviz"
    COMMANDS = App.COMMANDS | {PresetCommands}
    BINDINGS = [
        Binding("q", "quit", "quit", priority=True),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("question_mark,f1", "help", "help"),
        Binding("f", "open('reference')", "table", tooltip="the reference table"),
        Binding("d", "open('dashboard')", "dashboard", show=False),
        Binding("escape", "go_back", "back"),
        Binding("ctrl+p", "command_palette", "palette", show=False),
    ]

    def __init__(
        self,
        *,
        deck: list[Preset],
        controller: Controller,
        machine: Machine | None = None,
        fps: float = 4.0,
        sample_hz: float = 50.0,
        look: Look | None = None,
        preset: str | None = None,
        talk: bool = False,
        reference_cache: Path | None = None,
        record_results: bool = True,
        autostart: bool = False,
        dashboard_cls: type[Screen] | None = None,
        clock: Callable[[], float] = time.monotonic,
        ticking: bool = True,
        fixed_plan: Plan | None = None,
        watch_log: str | None = None,
        deck_note: str | None = None,
        low_bandwidth: str | None = None,
    ) -> None:
        # ANSI colours pass through as they are: timeline cells then cost a few bytes each
        # and follow the terminal's palette (Textual converts them to RGB by default).
        super().__init__(ansi_color=True)
        self.deck = deck
        self.controller = controller
        self.machine = machine or Machine.here()
        self.fps = max(0.2, min(30.0, fps))
        self.chart_hz = min(2.0, self.fps / 4)  # charts: 1 Hz by default, never above 2 Hz
        self.sample_hz = sample_hz
        self.look = look or Look()
        self.start_preset = preset
        self.talk = talk
        self.reference_cache = reference_cache
        self.record_results = record_results
        self.autostart = autostart
        self.dashboard_cls = dashboard_cls  # the base screen instead of DashboardScreen (replay)
        self.clock = clock  # what the panels pace themselves on (an export steps its own)
        #: Whether the app polls its controller by itself at ``fps``; an export ticks once
        #: a frame instead (the panels keep a few ticks of history, e.g. the cores' owners).
        self.ticking = ticking
        self.fixed_plan = fixed_plan  # the dashboard runs this plan only (a watched program)
        self.watch_log = watch_log
        #: What the deck leaves out and why (presets whose pools this Python lacks).
        self.deck_note = deck_note
        #: Why the frame rate is low ("low bandwidth", "SSH link"), shown on every screen;
        #: None when it is not (see launch.default_fps)
        self.low_bandwidth = low_bandwidth
        self.progress = Progress()
        #: JSON entries of this session's ended runs: what the dashboard estimates a long
        #: run's time from (core.teaching.estimate)
        self.measured_runs: list[dict] = []
        self._measured = -1
        self._recorded = -1
        self._signals: list[int] = []
        self._dashboard = None
        self._runs_stopped = False

    # --- life cycle ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._install_signals()
        if self.ticking:
            # After the first frame and before any run starts (registered first, so called
            # first): what start-up made is frozen, what it did not need is imported.
            self.call_after_refresh(after_first_frame)
        if self.talk:
            start = 0
            if self.start_preset:
                start = next((i for i, p in enumerate(self.deck) if p.name == self.start_preset), 0)
            self.push_screen(self._new_talk(start))
        else:
            from gilviz.tui.screens.dashboard import DashboardScreen

            preset = None
            if self.start_preset:
                preset = next((p for p in self.deck if p.name == self.start_preset), None)
            elif self.deck:
                preset = self.deck[0]
            if self.fixed_plan is not None:
                self._dashboard = DashboardScreen(plan=self.fixed_plan, log=self.watch_log)
            else:
                self._dashboard = (self.dashboard_cls or DashboardScreen)(preset=preset)
            self.push_screen(self._dashboard)
            if self.autostart:
                self.call_after_refresh(self._dashboard.start_as_asked)
        if self.ticking:
            self.set_interval(1 / self.fps, self.tick, name="gilviz-panels")
            self.call_after_refresh(self.tick)

    def _install_signals(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            for name in ("SIGTERM", "SIGHUP"):
                sig = getattr(signal, name, None)
                if sig is None:
                    continue
                loop.add_signal_handler(sig, self._on_signal, sig)
                self._signals.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # not the main thread (tests) or not supported here
        self._guard_sigcont()

    def _guard_sigcont(self) -> None:
        """A terminal that hangs up sends SIGHUP then SIGCONT. Textual's SIGCONT handler
        restarts its terminal threads even when it was never suspended, which leaves two
        writer threads and an exit that never ends: resume only after a real suspend."""
        driver = self._driver
        resume = signal.getsignal(signal.SIGCONT)
        if driver is None or not callable(resume):
            return

        def on_sigcont(signum: int, frame: object) -> None:
            if getattr(driver, "_must_signal_resume", False):
                resume(signum, frame)

        signal.signal(signal.SIGCONT, on_sigcont)

    def _on_signal(self, sig: int) -> None:
        self._stop_runs(timeout=0.5)
        if sig == getattr(signal, "SIGHUP", None) and not _terminal_alive():
            # The terminal is gone (SSH dropped, tmux killed): nothing to restore and
            # nowhere to write; the runs are stopped, so leave now.
            os._exit(128 + sig)
        self.exit(return_code=128 + sig)

    def _stop_runs(self, timeout: float | None = None) -> None:
        if self._runs_stopped:
            return
        self._runs_stopped = True
        if timeout is None:
            self.controller.shutdown()
        else:
            self.controller.shutdown(timeout=timeout)

    def on_unmount(self) -> None:
        self._stop_runs()
        try:
            loop = asyncio.get_running_loop()
            for sig in self._signals:
                loop.remove_signal_handler(sig)
        except RuntimeError:
            pass

    async def action_quit(self) -> None:
        self._stop_runs()
        self.exit(0)

    # --- runs ----------------------------------------------------------------------------

    def on_start_plan(self, message: StartPlan) -> None:
        self.controller.begin(message.plan)
        self.tick()

    def on_stop_run(self, message: StopRun) -> None:
        self.controller.stop()
        self.tick()

    def on_send_to_runner(self, message: SendToRunner) -> None:
        self.controller.send(message.command)

    def on_open_race(self, message: OpenRace) -> None:
        self.open_race(message.plan)

    def tick(self) -> None:
        """Poll the controller once and hand the progress to the screen on top."""
        if self._runs_stopped:
            return
        p = self.progress = self.controller.poll()
        self._maybe_record(p)
        if p.state in ("done", "stopped", "failed") and self._measured != p.generation:
            self._measured = p.generation
            self.measured_runs += [dict(s) for s in p.summaries if s is not None]
        screen = self.screen
        if isinstance(screen, GilvizScreen):
            screen.progress = p

    def _maybe_record(self, p: Progress) -> None:
        if not self.record_results or p.state != "done" or self._recorded == p.generation:
            return
        self._recorded = p.generation
        if p.plan is None or p.plan.preset_name is None:
            return
        runs = [s for s in p.summaries if s is not None]
        if runs:
            # The TUI's runners run gilviz's own interpreter.
            from gilviz.core.measuring.machine import python_info
            from gilviz.core.protocol import python_label
            from gilviz.core.teaching import reference

            label = python_label(python_info())
            reference.record(p.plan.preset_name, runs, self.reference_cache, python=label)

    # --- navigation ----------------------------------------------------------------------

    def _pop_to_base(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def _talk_open(self):
        """The talk in the screen stack (the topmost), if any."""
        from gilviz.tui.screens.talk import TalkScreen

        return next((s for s in reversed(self.screen_stack) if isinstance(s, TalkScreen)), None)

    def _home(self) -> Screen | None:
        """Where the screens opened on top return to: the talk while one is open (the same
        step), else the base screen (the dashboard)."""
        talk = self._talk_open()
        if talk is not None:
            return talk
        return self.screen_stack[1] if len(self.screen_stack) > 1 else None

    def _pop_to_home(self) -> None:
        home = self._home()
        while self.screen is not home and len(self.screen_stack) > 2:
            self.pop_screen()

    def _new_talk(self, start: int = 0):
        """The talk screen, installed: it keeps its step when a screen replaces it, and the
        palette's "Talk mode" comes back to it."""
        from gilviz.tui.screens.talk import TalkScreen

        talk = TalkScreen(start=start)
        self.install_screen(talk, "talk")
        return talk

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go_back":  # shown, and done, only where there is somewhere to go back to
            from gilviz.tui.screens.talk import TalkScreen

            top_talk = isinstance(self.screen, TalkScreen) and len(self.screen_stack) > 2
            return self.screen is not self._home() or top_talk
        return True

    def action_go_back(self) -> None:
        """esc: a screen opened on top returns to the talk (or the dashboard); a talk opened
        over the dashboard returns to it (the talk is kept, at its step)."""
        from gilviz.tui.screens.talk import TalkScreen

        if self.screen is not self._home():
            self._pop_to_home()
        elif isinstance(self.screen, TalkScreen) and len(self.screen_stack) > 2:
            self._pop_to_base()

    def open_screen(self, name: str) -> None:
        from gilviz.tui.screens.dashboard import DashboardScreen
        from gilviz.tui.screens.race import RaceScreen
        from gilviz.tui.screens.reference import ReferenceScreen

        if name == "help":
            self.action_help()
            return
        if name == "back":
            self.action_go_back()
            return
        if name == "talk":
            talk = self._talk_open()
            if talk is not None:
                self._pop_to_home()
            elif self.is_screen_installed("talk"):
                self._pop_to_base()
                self.push_screen("talk")  # the same talk, at the step it was left on
            else:
                self._pop_to_base()
                self.push_screen(self._new_talk())
            return
        if name == "dashboard":
            base = self.screen_stack[1] if len(self.screen_stack) > 1 else None
            if isinstance(base, DashboardScreen):
                self._pop_to_base()  # a talk on top is kept for the palette's "Talk mode"
                return
            # talk mode: the dashboard opens above the talk, on its preset; esc returns
            if isinstance(self.screen, DashboardScreen):
                return
            self._pop_to_home()
            talk = self._talk_open()
            self.push_screen(DashboardScreen(preset=talk.preset if talk else None))
            return
        target = {"race": RaceScreen, "reference": ReferenceScreen}[name]
        if isinstance(self.screen, target):
            return
        self._pop_to_home()
        screen = target(cache=self.reference_cache) if name == "reference" else target()
        self.push_screen(screen)

    def open_race(self, plan: Plan) -> None:
        from gilviz.tui.screens.race import RaceScreen

        self._pop_to_home()
        race = RaceScreen(plan)
        self.push_screen(race, callback=None)
        self.call_after_refresh(race.start)

    def open_preset(self, name: str, start: bool = False) -> None:
        from gilviz.tui.screens.dashboard import DashboardScreen
        from gilviz.tui.screens.talk import TalkScreen

        preset = next((p for p in self.deck if p.name == name), None)
        if preset is None:
            self.notify(f"no preset {name!r} in this deck", severity="warning")
            return
        if self._talk_open() is not None:  # a talk is on: the preset is one of its steps
            self._pop_to_home()
            talk = self.screen
            assert isinstance(talk, TalkScreen)
            talk.go(self.deck.index(preset))
            return
        self._pop_to_base()
        dash = self.screen
        if not isinstance(dash, DashboardScreen):
            dash = DashboardScreen(preset=preset)
            self.push_screen(dash)
        else:
            dash.switch_preset(preset)
        if start:
            self.call_after_refresh(dash.action_start_stop)

    def action_open(self, name: str) -> None:
        self.open_screen(name)

    def action_help(self) -> None:
        from gilviz.tui.screens.dashboard import DashboardScreen
        from gilviz.tui.screens.help import HelpScreen
        from gilviz.tui.screens.race import RaceScreen
        from gilviz.tui.screens.reference import ReferenceScreen
        from gilviz.tui.screens.talk import TalkScreen

        if isinstance(self.screen, HelpScreen):
            return
        own = self._keys_title()
        if own is not None:
            # A screen with keys of its own (a replay): those, and the app's it leaves alone.
            mine = type(self.screen).BINDINGS
            taken = {k.strip() for b in mine for k in b.key.split(",")}
            general = [
                b for b in GilvizApp.BINDINGS if not {k.strip() for k in b.key.split(",")} & taken
            ]
            sections = [("Everywhere", general), (own, mine)]
        else:
            sections = [
                ("Everywhere", GilvizApp.BINDINGS),
                ("Dashboard", DashboardScreen.BINDINGS),
                ("Race", RaceScreen.BINDINGS),
                ("Reference", ReferenceScreen.BINDINGS),
                ("Talk mode (gilviz talk)", TalkScreen.BINDINGS),
            ]
        self.push_screen(HelpScreen([(t, list(b)) for t, b in sections]))

    def _keys_title(self) -> str | None:
        """The help title of the screen on top when its keys are all it has (a replay)."""
        return getattr(type(self.screen), "KEYS_TITLE", None)

    def on_open_preset(self, message: OpenPreset) -> None:
        self.open_preset(message.name, message.start)

    def on_open_screen(self, message: OpenScreen) -> None:
        self.open_screen(message.name)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if getattr(type(screen), "KEYS_TITLE", None) is not None:
            yield SystemCommand("Help", "every key", self.action_help)
            return  # a replay opens no other screen
        yield SystemCommand(
            "Dashboard", "live panels of one run", partial(self.open_screen, "dashboard")
        )
        yield SystemCommand(
            "Race", "the current workload on serial, thread and process pools", self._palette_race
        )
        yield SystemCommand(
            "Reference",
            "threads vs processes, measured here",
            partial(self.open_screen, "reference"),
        )
        yield SystemCommand("Help", "every key", self.action_help)
        yield SystemCommand(
            "Talk mode", "step through the deck of presets", partial(self.open_screen, "talk")
        )

    def _palette_race(self) -> None:
        from gilviz.tui.screens.dashboard import DashboardScreen

        base = self.screen_stack[1] if len(self.screen_stack) > 1 else None
        if isinstance(base, DashboardScreen):
            self.open_race(base.race_plan())
        else:
            self.notify("open the dashboard to choose what to race", severity="warning")
