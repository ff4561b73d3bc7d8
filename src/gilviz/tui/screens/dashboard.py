"""The dashboard: a preset (or your own settings) on one pool, with every live panel.

Keyboard first: s start/stop, p pool, +/- workers, w workload, </> size, t/T tasks,
[/] previous/next preset, ↑/↓ scroll workers, r race, f reference table, ? help.

A key that changes more than its own setting says what else changed (a pool's workers, a
workload's defaults); a setting that differs from the preset's is marked ``*`` and the
narration says what the preset has. A run estimated to take longer than LONG_RUN_S (from a
run of the same workload measured here: ``core.teaching.estimate``) starts only when s is
pressed again.
"""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding

from gilviz.core import report
from gilviz.core.measuring.machine import pools_unavailable_line
from gilviz.core.running import workloads
from gilviz.core.running.spec import POOLS, RunSpec, build_spec
from gilviz.core.teaching import estimate, reference
from gilviz.core.teaching.presets import Preset
from gilviz.tui import deck as gdeck
from gilviz.tui.controllers.base import QUEUED_TEXT, Plan, Progress
from gilviz.tui.messages import OpenRace
from gilviz.tui.screens.live import LiveRunScreen
from gilviz.tui.widgets.info import ControlsBar, TitleBar, status_text

MAX_WORKERS = 256
#: A run (or race) estimated to take longer than this asks for s to be pressed again.
LONG_RUN_S = 60.0
#: With no measured run to estimate from: this many times the preset's (or the workload's
#: default) tasks × size asks too.
HUGE_WORK = 64


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
        Binding("p", "cycle_pool", "pool", tooltip="next pool"),
        Binding(
            "plus,equals_sign", "workers(1)", "workers", key_display="+/-", tooltip="more workers"
        ),
        Binding("minus", "workers(-1)", "fewer workers", show=False),
        Binding("w", "cycle_workload", "next workload", show=False),
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
        #: Progress up to this generation is of the settings before another preset was
        #: opened here: its panels are not shown under the new preset's title.
        self._before = -1
        #: Said once the pool picker is used: the pools it offers, and those this Python
        #: lacks with what they need (until the next run starts).
        self.pool_note: str | None = None
        self._armed: tuple | None = None  # the settings a long-run warning was given for

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

    def switch_preset(self, preset: Preset) -> None:
        """Open another preset here (the table, the palette, [ and ]): the runs so far
        were of other settings, so the panels wait for one of this preset."""
        self._before = max(self._progress.generation, self.app.progress.generation)
        self.load_preset(preset)
        self.show_progress(self.app.progress)

    def _other_settings(self, progress: Progress) -> bool:
        return progress.plan is not None and progress.generation <= self._before

    def preset_settings(self) -> dict[str, object] | None:
        """What the preset runs: its pools, and on the current pool its workers, tasks and
        size (None without a preset, or a watched program)."""
        p = self.preset
        if p is None or self.fixed_plan is not None:
            return None
        w = workloads.describe(p.workload)
        first = next((pc for pc in p.pools if pc.pool != "serial"), p.pools[0])
        here = next((pc for pc in p.pools if pc.pool == self.pool), first)
        return {
            "pool": [pc.pool for pc in p.pools],
            "workers": here.workers or first.workers or (w.default_workers if w else 4),
            "tasks": p.tasks or (w.default_tasks if w else 4),
            "size": p.size if p.size is not None else (w.default_size if w else None),
        }

    def changes(self) -> dict[str, str]:
        """The settings that differ from the preset's, each with the preset's value."""
        ref = self.preset_settings()
        if ref is None:
            return {}
        out = {}
        if self.pool not in ref["pool"]:
            out["pool"] = ", ".join(ref["pool"])  # type: ignore[arg-type]
        if self.pool != "serial" and self.n_workers != ref["workers"]:
            out["workers"] = str(ref["workers"])
        if self.tasks != ref["tasks"]:
            out["tasks"] = compact(ref["tasks"])  # type: ignore[arg-type]
        if self.preset is not None and self.preset.args is None and self.task_size != ref["size"]:
            size = ref["size"]
            out["size"] = "-" if size is None else compact(size)  # type: ignore[arg-type]
        return out

    def _changed(self, note: str | None = None, warn: bool = False) -> None:
        """A setting changed: say what else did (``note``), mark what now differs from the
        preset, and forget a long-run warning given for the old settings."""
        self.modified = bool(self.changes())
        self._armed = None
        if note:
            self.app.clear_notifications()
            self.app.notify(note, severity="warning" if warn else "information", timeout=6)
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
        narration = gdeck.narration_line(p, self.workload)
        changes = self.changes()
        if changes:
            # The narration tells the preset's story: say first where yours differs.
            has = ", ".join(
                f"{'pools' if k == 'pool' and ',' in v else k} {v}" for k, v in changes.items()
            )
            narration = f"* = changed; the preset has {has}. {narration}"
        self.title_bar.set(title, narration)
        active = self._progress.active and not self._other_settings(self._progress)

        def mark(value: str, setting: str) -> str:
            return value + "*" if setting in changes else value

        self.controls.set(
            [
                ("s", "stop" if active else "start", ""),
                ("w", self.workload, ""),
                ("p", mark(self.pool, "pool"), "pool"),
                (
                    "+/-",
                    "1" if self.pool == "serial" else mark(str(self.n_workers), "workers"),
                    "worker" if self.pool == "serial" or self.n_workers == 1 else "workers",
                ),
                ("t/T", mark(compact(self.tasks), "tasks"), "tasks"),
                self._size_control(mark),
            ],
            spare=frozenset({"pool"}),
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

    def _size_control(self, mark=lambda value, setting: value) -> tuple[str, str, str]:
        args = self.preset.args if self.preset is not None else None
        if args is not None:
            return ("", args, "args")
        size = "-" if self.task_size is None else compact(self.task_size)
        return ("</>", mark(size, "size"), "size")

    # --- actions -------------------------------------------------------------------------

    def action_cycle_pool(self) -> None:
        if self._fixed():
            return
        pools = self._pools()
        i = pools.index(self.pool) if self.pool in pools else -1
        was_serial, before = self.pool == "serial", self.n_workers
        self.pool = pools[(i + 1) % len(pools)]
        m = self.app.machine
        missing = pools_unavailable_line(POOLS, m.pools, m.python)
        self.pool_note = f"p: {', '.join(pools)} · {missing}" if missing else None
        self._show_status()
        why = ""
        if self.preset is not None:
            pc = next((pc for pc in self.preset.pools if pc.pool == self.pool), None)
            if pc is not None and pc.workers:
                self.n_workers = pc.workers
                why = ", the preset's"
        # Said when more than the pool changed: the workers shown, or the preset's pools left.
        shown_before = 1 if was_serial else before
        note = None
        if self.pool == "serial":
            if shown_before != 1:
                note = "pool serial: one worker runs the tasks one after another"
        elif self.n_workers != shown_before:
            note = f"pool {self.pool}: {self.n_workers} workers{why}"
            note += " (serial ran one)" if was_serial else f", were {before}"
        left = self.changes().get("pool")
        if left:
            note = f"{note or 'pool ' + self.pool}; the preset runs on {left} (marked *)"
        self._changed(note)

    def action_workers(self, delta: int) -> None:
        if self._fixed():
            return
        if self.pool == "serial":
            self.app.notify(
                "a serial run has one worker: p picks a pool of several", severity="warning"
            )
            return
        self.n_workers = min(MAX_WORKERS, max(1, self.n_workers + delta))
        self._changed()

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
        warning = self.long_run_warning([self.pool])
        self._changed(f"size {compact(self.task_size)}: {warning}" if warning else None, True)

    def action_tasks(self, factor: float) -> None:
        if self._fixed():
            return
        self.tasks = int(min(1_000_000, max(1, round(self.tasks * factor))))
        warning = self.long_run_warning([self.pool])
        self._changed(f"{compact(self.tasks)} tasks: {warning}" if warning else None, True)

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
            note = f"workload {name}: your function, with its settings"
        else:
            self._set_workload(name)
            w = workloads.describe(name)
            size = "" if w is None else f", size {compact(self.task_size or 0)} ({w.size_unit})"
            note = (
                f"workload {name}, with its defaults: {self.n_workers} workers, "
                f"{compact(self.tasks)} tasks{size}"
            )
        self._changed(note)

    def action_preset(self, delta: int) -> None:
        if self._fixed():
            return
        deck = self.app.deck
        if not deck:
            return
        names = [p.name for p in deck]
        i = names.index(self.preset.name) if self.preset and self.preset.name in names else -1
        self.switch_preset(deck[(i + delta) % len(deck)])
        self._armed = None

    # --- how long a run would take ---------------------------------------------------------

    def _measured_runs(self) -> list[dict]:
        """Runs measured here: this session's, then the reference cache's (presets)."""
        doc = reference.load(self.app.reference_cache)
        entries = sorted(
            (e for e in doc["presets"].values() if isinstance(e, dict)),
            key=lambda e: e.get("t", 0),
        )
        cached = [r for e in entries for r in e.get("runs", []) if isinstance(r, dict)]
        return [*getattr(self.app, "measured_runs", []), *cached]

    def long_run_warning(self, pools: list[str]) -> str | None:
        """Why a run of today's settings on ``pools`` (one after another) may take very long,
        or None: the estimate from a run measured here, or, with none to estimate from,
        how many times the preset's (or the workload's default) work it is."""
        if self.task_size is None or (self.preset is not None and self.preset.args):
            return None
        runs = self._measured_runs()
        guesses = [
            estimate.estimate(self.workload, pool, self.n_workers, self.tasks, self.task_size, runs)
            for pool in pools
        ]
        if all(g is not None for g in guesses):
            total = sum(g.seconds for g in guesses)  # type: ignore[union-attr]
            if total < LONG_RUN_S:
                return None
            first = guesses[0]
            assert first is not None
            what = "this race" if len(pools) > 1 else "this run"
            return f"{what} may take {estimate.Estimate(total, first.basis).text()}"
        ref = self.preset_settings()
        w = workloads.describe(self.workload)
        base_size = ref["size"] if ref else (w.default_size if w else None)
        base_tasks = ref["tasks"] if ref else (w.default_tasks if w else None)
        if not base_size or not base_tasks:
            return None
        ratio = self.tasks * self.task_size / (base_tasks * base_size)  # type: ignore[operator]
        if ratio < HUGE_WORK:
            return None
        whose = "the preset's" if ref else f"{self.workload}'s default"
        return (
            f"{ratio:,.0f}× {whose} work (tasks × size), and no {self.workload} run measured "
            "here to estimate its time from"
        )

    def _confirm_long(self, pools: list[str]) -> bool:
        """Whether to start now: yes, unless the run may take very long and this is the first
        time these settings were asked for (then it says why, and s again starts; so does
        every s after, until a setting changes)."""
        key = (self.workload, self.pool, self.n_workers, self.tasks, self.task_size, len(pools))
        if self._armed == key:
            return True
        warning = self.long_run_warning(pools)
        if warning is None:
            return True
        self._armed = key
        again = "r" if len(pools) > 1 else "s"
        self.app.clear_notifications()
        self.app.notify(
            f"{warning[0].upper()}{warning[1:]}. Press {again} again to start it anyway, "
            "or < and t to make it smaller.",
            title="a long run",
            severity="warning",
            timeout=15,
        )
        return False

    def action_race(self) -> None:
        if self._fixed():
            return
        plan = self.race_plan()
        if plan.preset_name is None and not self._confirm_long(self._race_pools()):
            return
        self.post_message(OpenRace(plan))

    def start_as_asked(self) -> None:
        """Start the run the command line asked for (``--start``): its settings were chosen
        there, so no long-run warning waits for a second s."""
        if not self._progress.active:
            self.pool_note = None
            self.start_plan(self.run_plan())

    def action_start_stop(self) -> None:
        if self._progress.active and not self._other_settings(self._progress):
            self.stop_run()
        elif self.fixed_plan is not None or self._confirm_long([self.pool]):
            self.pool_note = None  # the picker's word is for choosing, not for the run
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

    def _race_pools(self) -> list[str]:
        # Interpreters join the race where this Python has them (3.14+).
        return [k for k in ("serial", "thread", "process", "interpreter") if k in self._pools()]

    def race_plan(self) -> Plan:
        p = self.preset
        m = self.app.machine
        if p is not None and not self.modified and len(p.pools) >= 2:
            # A preset's pools that this Python lacks are left out, and the race says so.
            shown, note = gdeck.runnable_part(p, m.pools, m.python)
            return Plan(
                label=f"race: {p.name}",
                make_specs=lambda url: gdeck.specs(shown, url),
                needs_server=gdeck.needs_server(p.workload),
                delay_s=gdeck.delay_s(p),
                preset_name=p.name,
                kind="race",
                labels=tuple(pc.display for pc in shown.pools),
                preset=p,
                note=note,
            )
        # Interpreters join the race where this Python has them (3.14+); else it says why.
        pools = self._race_pools()
        missing = pools_unavailable_line(
            ("serial", "thread", "process", "interpreter"), m.pools, m.python
        )
        return Plan(
            label=f"race: {self.workload} on {', '.join(pools)}",
            make_specs=self._specs_for(pools),
            needs_server=gdeck.needs_server(self.workload),
            delay_s=gdeck.delay_s(p),
            preset_name=None,
            kind="race",
            note=f"not raced: {missing}" if missing else None,
        )

    # --- live ----------------------------------------------------------------------------

    def show_progress(self, progress: Progress) -> None:
        was_active = self._progress.active
        self._progress = progress
        snap = progress.snapshot
        if self._other_settings(progress):
            self.panels.show(None)  # not under this preset's title
        else:
            self.show_panels(progress)
            if self.title_bar is not None:
                self.title_bar.set_python(report.snapshot_python(snap))
        self._show_status()
        if was_active != progress.active:
            self._update_texts()

    def _show_status(self) -> None:
        progress = self._progress
        if self._other_settings(progress):
            self._show_other_settings(progress)
            return
        snap = progress.snapshot
        state, error = self.run_state(progress)
        text = status_text(snap) if snap else "no run yet: press s to start"
        if state == "queued":
            text = QUEUED_TEXT
        if len(progress.specs) > 1 and progress.active:
            text = self.run_of(progress) + text
        extra = [self.pool_note, report.snapshot_startup(snap)]
        self.status.set(state, text, error, "\n".join(x for x in extra if x))

    def _show_other_settings(self, progress: Progress) -> None:
        """Another preset was opened since this run began: the status says what became
        of it (its panels are not shown under this title)."""
        if progress.active:
            snap = progress.snapshot
            what = f" ({status_text(snap)})" if snap else ""
            self.status.set(
                progress.state,
                f"the run of the settings before is still going{what}: s stops it and "
                "starts this preset",
            )
        else:
            self.status.set("idle", "no run of these settings yet: press s to start")
