"""The dashboard: a preset (or your own settings) on one pool, with every live panel.

Keyboard first: s start/stop, p pool, +/- workers, w workload, </> size, t/T tasks,
[/] previous/next preset, ↑/↓ scroll workers, r race, f reference table, ? help.
"""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding

from gilviz.core.running import workloads
from gilviz.core.running.spec import POOLS, RunSpec, build_spec
from gilviz.core.teaching.presets import Preset
from gilviz.tui import deck as gdeck
from gilviz.tui.controllers.base import QUEUED_TEXT, Plan, Progress
from gilviz.tui.messages import OpenRace
from gilviz.tui.screens.live import LiveRunScreen
from gilviz.tui.widgets.info import ControlsBar, TitleBar, status_text

MAX_WORKERS = 256


def compact(n: int) -> str:
    """10_000_000 -> "10M", 300_000 -> "300k", 1_500 -> "1.5k"."""
    for div, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}"
    return str(n)


class DashboardScreen(LiveRunScreen):
    title_bar: TitleBar | None = None

    BINDINGS = [
        Binding("s", "start_stop", "start/stop"),
        Binding("p", "cycle_pool", "pool"),
        Binding("plus,equals_sign", "workers(1)", "workers", key_display="+/-"),
        Binding("minus", "workers(-1)", "fewer workers", show=False),
        Binding("w", "cycle_workload", "workload", show=False),
        Binding("greater_than_sign", "size(2)", "double the size", show=False),
        Binding("less_than_sign", "size(0.5)", "halve the size", show=False),
        Binding("T", "tasks(2)", "double the tasks", show=False),
        Binding("t", "tasks(0.5)", "halve the tasks", show=False),
        Binding("right_square_bracket", "preset(1)", "next preset", show=False),
        Binding("left_square_bracket", "preset(-1)", "previous preset", show=False),
        Binding("down", "scroll_workers(1)", "scroll workers down", show=False),
        Binding("up", "scroll_workers(-1)", "scroll workers up", show=False),
        Binding("pagedown", "scroll_workers(10)", "page workers down", show=False),
        Binding("pageup", "scroll_workers(-10)", "page workers up", show=False),
        Binding("r", "race", "race"),
    ]

    def __init__(
        self, preset: Preset | None = None, plan: Plan | None = None, log: str | None = None, **kw
    ) -> None:
        super().__init__(**kw)
        #: a watched program: the one plan this dashboard runs, and where its output goes
        self.fixed_plan = plan
        self.output_log = log
        self.preset: Preset | None = None
        self.modified = False
        self.workload = "crunch"
        self.pool = "thread"
        self.n_workers = 4
        self.tasks = 4
        self.task_size: int | None = 0  # None: a user function given no --size
        self.user_preset: Preset | None = None  # your own function's settings: in the w cycle
        self._initial_preset = preset
        self._progress = Progress()

    # --- composition ---------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        app = self.app
        self.title_bar = TitleBar(app.machine, look=app.look)
        self.controls = ControlsBar(look=app.look)
        yield self.title_bar
        yield self.controls
        yield self.make_status()
        yield self.make_panels()

    def on_mount(self) -> None:
        if self._initial_preset is not None:
            self.load_preset(self._initial_preset)
        else:
            self._set_workload(self.workload)
        self._update_texts()

    # --- settings ------------------------------------------------------------------------

    def _pools(self) -> list[str]:
        avail = self.app.machine.pools
        kinds = [
            p
            for p in POOLS
            if avail.get(p, "?" if p not in ("serial", "thread", "process") else None) is None
        ]
        return kinds or ["serial", "thread", "process"]

    def load_preset(self, preset: Preset) -> None:
        self.preset = preset
        self.modified = False
        self.workload = preset.workload
        w = workloads.describe(preset.workload)
        first = next((pc for pc in preset.pools if pc.pool != "serial"), preset.pools[0])
        self.pool = first.pool
        self.n_workers = first.workers or (w.default_workers if w else 4)
        self.tasks = preset.tasks or (w.default_tasks if w else 4)
        self.task_size = preset.size if preset.size is not None else (w.default_size if w else None)
        if w is None:
            self.user_preset = preset
        self._update_texts()

    def _set_workload(self, name: str) -> None:
        w = workloads.describe(name)
        self.preset = None
        self.workload = name
        if w is not None:
            self.n_workers = w.default_workers
            self.tasks = w.default_tasks
            self.task_size = w.default_size

    def _update_texts(self) -> None:
        if self.title_bar is None:  # not composed yet: on_mount draws them
            return
        if self.fixed_plan is not None:
            self._watch_texts()
            return
        p = self.preset
        if p is not None:
            title = f"[{p.name}{' (modified)' if self.modified else ''}] {p.title}"
        else:
            title = f"Your settings: {self.workload}"
        self.title_bar.set(title, gdeck.narration_line(p, self.workload))
        active = self._progress.active
        self.controls.set(
            [
                ("s", "stop" if active else "start", ""),
                ("w", self.workload, ""),
                ("p", self.pool, "pool"),
                ("+/-", "1" if self.pool == "serial" else str(self.n_workers), "workers"),
                ("t/T", compact(self.tasks), "tasks"),
                self._size_control(),
            ]
        )

    def _watch_texts(self) -> None:
        assert self.fixed_plan is not None and self.title_bar is not None
        spec = self.fixed_plan.make_specs(None)[0]
        attach = spec.params.get("pid") is not None
        title = f"{'Attached to' if attach else 'Watching'}: {spec.workload}"
        where = (
            "left running and untouched when you quit"
            if attach
            else f"its output: {self.output_log}"
            if self.output_log
            else "its output is discarded"
        )
        # Where its output goes comes first: a narrow terminal cuts the end of the line.
        self.title_bar.set(
            title,
            f"{where[0].upper()}{where[1:]}; every thread of every CPython process in "
            "its tree, one row each.",
        )
        active = self._progress.active
        self.controls.set(
            [("s", "stop" if active else ("attach" if attach else "start"), ""), ("", "watch", "")]
        )

    def _fixed(self) -> bool:
        """A watched program has its own settings: the keys that change them say so."""
        if self.fixed_plan is None:
            return False
        self.app.notify("watching a program: its pools and sizes are its own", severity="warning")
        return True

    def _size_control(self) -> tuple[str, str, str]:
        args = self.preset.args if self.preset is not None else None
        if args is not None:
            return ("", args, "args")
        return ("</>", "-" if self.task_size is None else compact(self.task_size), "size")

    # --- actions -------------------------------------------------------------------------

    def action_cycle_pool(self) -> None:
        if self._fixed():
            return
        pools = self._pools()
        i = pools.index(self.pool) if self.pool in pools else -1
        self.pool = pools[(i + 1) % len(pools)]
        if self.preset is not None:
            pc = next((pc for pc in self.preset.pools if pc.pool == self.pool), None)
            if pc is not None and pc.workers:
                self.n_workers = pc.workers
        self._update_texts()

    def action_workers(self, delta: int) -> None:
        if self._fixed():
            return
        self.n_workers = min(MAX_WORKERS, max(1, self.n_workers + delta))
        self.modified = True
        self._update_texts()

    def action_size(self, factor: float) -> None:
        if self._fixed():
            return
        w = workloads.describe(self.workload)
        lo, hi = (w.min_size, w.max_size) if w else (0, 2**62)
        if self.preset is not None and self.preset.args is not None:
            self.app.notify("this function is called with --args: its size is not used")
            return
        self.task_size = int(
            min(hi, max(lo, round(self.task_size * factor) if self.task_size else 1))
        )
        self.modified = True
        self._update_texts()

    def action_tasks(self, factor: float) -> None:
        if self._fixed():
            return
        self.tasks = int(min(1_000_000, max(1, round(self.tasks * factor))))
        self.modified = True
        self._update_texts()

    def action_cycle_workload(self) -> None:
        if self._fixed():
            return
        names = [n for n, w in workloads.BUILTINS.items() if not w.crashes]
        if self.user_preset is not None:
            names.append(self.user_preset.workload)
        i = names.index(self.workload) if self.workload in names else -1
        name = names[(i + 1) % len(names)]
        if self.user_preset is not None and name == self.user_preset.workload:
            self.load_preset(self.user_preset)
        else:
            self._set_workload(name)
        self._update_texts()

    def action_preset(self, delta: int) -> None:
        if self._fixed():
            return
        deck = self.app.deck
        if not deck:
            return
        names = [p.name for p in deck]
        i = names.index(self.preset.name) if self.preset and self.preset.name in names else -1
        self.load_preset(deck[(i + delta) % len(deck)])

    def action_race(self) -> None:
        if self._fixed():
            return
        self.post_message(OpenRace(self.race_plan()))

    def action_start_stop(self) -> None:
        if self._progress.active:
            self.stop_run()
        else:
            self.start_plan(self.run_plan())

    # --- plans ---------------------------------------------------------------------------

    def _specs_for(self, pools: list[str]):
        """A function url -> specs, with today's settings captured."""
        p, workload, workers, tasks, size, modified = (
            self.preset,
            self.workload,
            self.n_workers,
            self.tasks,
            self.task_size,
            self.modified,
        )

        if p is not None and p.args is not None:
            size = None  # the function is called with its --args

        def make(url: str | None) -> list[RunSpec]:
            out = []
            preset_specs = gdeck.specs(p, url, size=size, tasks=tasks) if p is not None else []
            for pool in pools:
                spec = next((s for s in preset_specs if s.pool == pool), None)
                if spec is None:
                    params = {"url": url} if url else {}
                    spec = build_spec(
                        workload, pool=pool, workers=workers, tasks=tasks, size=size, params=params
                    )
                elif pool != "serial" and (modified or len(pools) == 1):
                    spec = replace(spec, workers=workers)
                out.append(spec)
            return out

        return make

    def run_plan(self) -> Plan:
        if self.fixed_plan is not None:
            return self.fixed_plan
        pool = self.pool
        return Plan(
            label=f"{self.workload} on {pool}",
            make_specs=self._specs_for([pool]),
            needs_server=gdeck.needs_server(self.workload),
            delay_s=gdeck.delay_s(self.preset),
            preset_name=self.preset.name if self.preset and not self.modified else None,
            kind="run",
            preset=self.preset,
        )

    def race_plan(self) -> Plan:
        p = self.preset
        if p is not None and not self.modified and len(p.pools) >= 2:
            labels = tuple(pc.display for pc in p.pools)
            return Plan(
                label=f"race: {p.name}",
                make_specs=lambda url: gdeck.specs(p, url),
                needs_server=gdeck.needs_server(p.workload),
                delay_s=gdeck.delay_s(p),
                preset_name=p.name,
                kind="race",
                labels=labels,
                preset=p,
            )
        # Interpreters join the race where this Python has them (3.14+).
        pools = [k for k in ("serial", "thread", "process", "interpreter") if k in self._pools()]
        return Plan(
            label=f"race: {self.workload} on {', '.join(pools)}",
            make_specs=self._specs_for(pools),
            needs_server=gdeck.needs_server(self.workload),
            delay_s=gdeck.delay_s(p),
            preset_name=None,
            kind="race",
        )

    # --- live ----------------------------------------------------------------------------

    def show_progress(self, progress: Progress) -> None:
        was_active = self._progress.active
        self._progress = progress
        snap = progress.snapshot
        self.show_panels(progress)
        state, error = self.run_state(progress)
        text = status_text(snap) if snap else "no run yet: press s to start"
        if state == "queued":
            text = QUEUED_TEXT
        if len(progress.specs) > 1 and progress.active:
            text = self.run_of(progress) + text
        self.status.set(state, text, error)
        if was_active != progress.active:
            self._update_texts()
