"""Driving the app with Pilot: navigation, start/stop, pools, failures, quitting.

Navigation tests replay recorded snapshots; the run tests start real runs of tiny sizes
(2 shared cores: each ends in well under a second) through the real LiveController.
"""

from __future__ import annotations

import signal
import time
from dataclasses import replace

import psutil

from gilviz.core import report
from gilviz.core.teaching.presets import PoolChoice, Preset
from gilviz.tui.app import GilvizApp
from gilviz.tui.controllers.fixtures import ReplayController
from gilviz.tui.controllers.live import LiveController
from gilviz.tui.machine import Machine
from gilviz.tui.screens.base import GilvizScreen
from gilviz.tui.screens.dashboard import DashboardScreen
from gilviz.tui.screens.help import HelpScreen
from gilviz.tui.screens.race import RaceScreen
from gilviz.tui.screens.reference import ReferenceScreen
from gilviz.tui.screens.talk import BlankScreen, TalkScreen
from gilviz.tui.style import Look
from tests.helpers import alive

from .conftest import drive, load_deck, recording, replay_app, until

RUN_TIMEOUT = 30


def tiny_deck() -> list[Preset]:
    return [replace(p, size=300_000, tasks=4) for p in load_deck()]


def live_app(deck=None, preset: str | None = "crunch-threads", **kw) -> GilvizApp:
    return GilvizApp(
        deck=deck if deck is not None else tiny_deck(),
        controller=LiveController(sample_hz=50),
        machine=Machine.here(),
        look=Look(),
        preset=preset,
        record_results=False,
        **kw,
    )


def run_pids(app: GilvizApp) -> list[int]:
    run = app.controller._run
    if run is None or run.proc is None:
        return []
    return [run.proc.pid, *run.worker_pids]


# --- navigation (recorded data) ---------------------------------------------------------


def test_navigation_between_screens():
    app = replay_app(finish=True, preset="crunch-processes", autostart=False)

    async def script(pilot):
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RaceScreen), what="race screen")
        await until(pilot, lambda: app.progress.state == "done", what="race done")
        assert "verdict" in app.screen.board.build(100, 10)[-1].runs[0][0]
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("f")
        assert isinstance(app.screen, ReferenceScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ReferenceScreen)
        await pilot.press("1")  # GIL row -> its first preset in this deck
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.preset.name == "crunch-threads"
        assert len(app.screen_stack) == 2  # no screens piled up

    drive(app, script)


def test_dashboard_keys_change_the_settings():
    app = replay_app(autostart=False)

    async def script(pilot):
        dash = app.screen
        assert (dash.pool, dash.n_workers) == ("thread", 4)
        await pilot.press("p")
        assert dash.pool == "process"
        await pilot.press("plus", "plus", "minus")
        assert dash.n_workers == 5 and dash.modified
        await pilot.press("T", "greater_than_sign")
        assert dash.tasks == 32 and dash.task_size == 20_000_000
        await pilot.press("right_square_bracket")
        assert dash.preset.name == "crunch-processes" and not dash.modified
        await pilot.press("w")
        assert dash.preset is None and dash.workload != "crunch"

    drive(app, script)


def test_command_palette_lists_presets_and_screens():
    app = replay_app(autostart=False)

    async def script(pilot):
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"switch-interval")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        await until(
            pilot, lambda: app.screen.preset and app.screen.preset.name == "switch-interval"
        )
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Reference")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReferenceScreen), what="reference")

    drive(app, script)


def test_terminal_too_small_says_so():
    app = replay_app()

    async def script(pilot):
        assert app.screen.has_class("-too-small")
        assert "at least 80x24" in str(app.screen.query_one("#too-small").render())
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not app.screen.has_class("-too-small")

    drive(app, script, size=(60, 20))


def test_a_static_run_repaints_nothing():
    """Textual re-sends whole lines of a widget that refreshes: panels must only repaint
    lines whose content changed, so an unchanged snapshot costs no output at all."""
    app = replay_app()

    async def script(pilot):
        await pilot.pause(0.3)
        panels = app.screen.panels
        widgets = [panels.cores, panels.timelines, panels.gil, panels.mix, panels.throughput]
        before = [w.lines_painted for w in widgets]
        for _ in range(5):
            app.tick()
        await pilot.pause()
        assert [w.lines_painted for w in widgets] == before

    drive(app, script)


def test_a_tick_repaints_no_more_than_the_panels_changed(monkeypatch):
    """Handing the screen its progress at every tick must not repaint the whole screen
    (the compositor's full update re-sends every line, each frame): with nothing changed,
    ticks draw nothing at all."""
    from textual._compositor import Compositor

    app = replay_app()
    updates: list[str] = []
    full, partial = Compositor.render_full_update, Compositor.render_partial_update

    def count_full(self, *a, **kw):
        updates.append("full")
        return full(self, *a, **kw)

    def count_partial(self, *a, **kw):
        out = partial(self, *a, **kw)
        if out is not None:
            updates.append("partial")
        return out

    async def script(pilot):
        await pilot.pause(0.3)
        monkeypatch.setattr(Compositor, "render_full_update", count_full)
        monkeypatch.setattr(Compositor, "render_partial_update", count_partial)
        for _ in range(5):
            app.tick()
            await pilot.pause()
        assert updates == []

    drive(app, script)


def test_talk_mode_keys():
    app = replay_app(finish=True, preset="crunch-threads", talk=True)

    async def script(pilot):
        talk = app.screen
        assert isinstance(talk, TalkScreen) and talk.index == 0
        await pilot.press("n")
        assert talk.index == 1 and talk.banner.step == "2/3"
        await pilot.press("space")
        assert talk.index == 2
        gen = app.progress.generation
        await pilot.press("right")  # the last step: the deck ends there, it does not wrap
        assert talk.index == 2 and app.progress.generation == gen
        await pilot.press("p")
        assert talk.index == 1
        await pilot.press("n")
        assert talk.index == 2
        gen = app.progress.generation
        await pilot.press("r")
        assert app.controller.poll().generation == gen + 1
        await pilot.press("b")
        assert isinstance(app.screen, BlankScreen)
        await pilot.press("b")
        assert app.screen is talk
        # switch-interval: +/- change sys.setswitchinterval in the runner, live
        app.controller.finish = False
        await pilot.press("r")
        await pilot.press("plus", "minus", "minus")
        assert app.controller.sent == ["switch 0.01", "switch 0.005", "switch 0.0025"]
        assert "2.5 ms" in talk.status.extra

    drive(app, script)


def test_talk_shows_the_checked_claim():
    app = replay_app(finish=True, preset="crunch-processes", talk=True)

    async def script(pilot):
        await until(pilot, lambda: app.screen.claim.mark in ("✓", "✗", "?"), what="claim")
        assert "faster" in app.screen.claim.text

    drive(app, script)


def test_finished_preset_runs_are_cached_for_the_reference(tmp_path):
    from gilviz.core.teaching import reference

    cache = tmp_path / "reference.json"
    app = replay_app(finish=True, preset="crunch-processes", autostart=False, cache=cache)

    async def script(pilot):
        await pilot.press("r")
        await until(pilot, lambda: cache.exists(), what="cache written")
        await pilot.press("f")
        rows = app.screen.table.rows
        assert rows[0]["measured"] and "processes" in rows[0]["measured"]
        assert rows[1]["measured"] is None  # memory: none of its presets ran

    drive(app, script)
    doc = reference.load(cache)
    assert {r["pool"] for r in doc["presets"]["crunch-processes"]["runs"]} == {
        "serial",
        "thread",
        "process",
    }


def test_sigterm_handler_stops_runs_and_exits_with_143():
    app = replay_app()

    async def script(pilot):
        app._on_signal(signal.SIGTERM)

    drive(app, script)
    assert app.return_code == 128 + signal.SIGTERM
    assert app.controller.poll().state == "stopped"


# --- real runs ---------------------------------------------------------------------------


def test_start_a_real_run_and_see_it_finish():
    app = live_app()

    async def script(pilot):
        await pilot.press("s")
        await until(pilot, lambda: app.progress.state == "done", what="run done")
        snap = app.progress.snapshot
        assert snap.pool == "thread" and snap.tasks_done == 4 and snap.error is None
        assert app.screen.status.state == "done"
        assert 1 <= len(snap.workers) <= 4  # a worker may get no task in so short a run
        assert app.screen.panels.timelines.snapshot is snap

    drive(app, script)


def test_switch_pool_then_run_on_processes():
    app = live_app()

    async def script(pilot):
        await pilot.press("p")  # thread -> process
        await pilot.press("s")
        await until(pilot, lambda: app.progress.state == "done", what="run done")
        assert app.progress.snapshot.pool == "process"
        assert app.progress.summaries[0]["error"] is None

    drive(app, script)


def slow_deck() -> list[Preset]:
    return [
        Preset(
            name="slow",
            title="Slow sleeps",
            workload="sleep",
            teaches="Best for",
            narration=("Tasks that sleep for a long time, to be stopped.",),
            pools=(PoolChoice("process", workers=2),),
            size=20_000,
            tasks=4,
        ),
        Preset(
            name="boom",
            title="A task that segfaults",
            workload="segfault",
            teaches="Crash isolation",
            narration=("The thread pool's process dies with its task.",),
            pools=(PoolChoice("thread", workers=2),),
            size=10,
            tasks=2,
        ),
    ]


def test_stop_a_real_run_midway():
    app = live_app(deck=slow_deck(), preset="slow")

    async def script(pilot):
        await pilot.press("s")
        await until(
            pilot,
            lambda: app.progress.snapshot is not None and len(app.progress.snapshot.workers) == 2,
            what="workers up",
        )
        pids = run_pids(app)
        assert len(pids) == 3  # the runner and two process workers
        t0 = time.monotonic()
        await pilot.press("s")
        await until(pilot, lambda: app.progress.state == "stopped", timeout=10, what="stopped")
        assert time.monotonic() - t0 < 10  # stop asks, then kills after 2 s
        assert "stopped" in app.screen.status.state
        await until(pilot, lambda: not alive(pids), timeout=5, what="children gone")

    drive(app, script)


def test_quit_during_a_run_leaves_no_process():
    app = live_app(deck=slow_deck(), preset="slow")
    pids: list[int] = []

    async def script(pilot):
        await pilot.press("s")
        await until(
            pilot,
            lambda: app.progress.snapshot is not None and len(app.progress.snapshot.workers) == 2,
            what="workers up",
        )
        pids.extend(run_pids(app))
        await pilot.press("q")

    drive(app, script)
    assert app.return_code == 0
    deadline = time.monotonic() + 5
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(pids) == []
    assert [c for c in psutil.Process().children(recursive=True) if c.pid in pids] == []


def test_a_failed_run_shows_its_error_and_the_app_stays_usable():
    app = live_app(deck=slow_deck(), preset="boom")

    async def script(pilot):
        await pilot.press("s")
        await until(pilot, lambda: app.progress.finished, what="crash reported")
        status = app.screen.status
        assert status.error and "SIGSEGV" in status.error
        # still usable: choose another pool and run again
        await pilot.press("right_square_bracket")  # -> slow (sleep)
        await pilot.press("t", "t")  # 4 -> 2 -> 1 task
        await pilot.press("less_than_sign")  # 20 s -> 10 s per task
        assert app.screen.tasks == 1
        await pilot.press("s")
        await until(pilot, lambda: app.progress.state == "running", what="new run")
        await pilot.press("s")
        await until(pilot, lambda: app.progress.state == "stopped", timeout=10, what="stopped")

    drive(app, script)


def test_every_screen_is_a_gilviz_screen():
    # the too-small message and the footer come from the base class
    for cls in (DashboardScreen, RaceScreen, ReferenceScreen, TalkScreen):
        assert issubclass(cls, GilvizScreen)


def test_replay_controller_matches_pools():
    rec = recording("crunch")
    ctrl = ReplayController(rec, finish=True)
    from gilviz.core.running.spec import build_spec
    from gilviz.tui.controllers.base import Plan

    ctrl.begin(Plan("x", lambda url: [build_spec("crunch", pool="process")]))
    assert ctrl.poll().finals[0].pool == "process"


def test_a_tui_session_is_recorded_and_replays_to_the_same_numbers(tmp_path):
    from gilviz.core.recording.reader import read_recording
    from gilviz.core.recording.recorder import Recorder

    path = tmp_path / "tui.jsonl"
    recorder = Recorder(path, settings={"command": "tui"})
    app = GilvizApp(
        deck=tiny_deck(),
        controller=LiveController(sample_hz=50, recorder=recorder),
        machine=Machine.here(),
        look=Look(),
        preset="crunch-threads",
        record_results=False,
    )

    async def script(pilot):
        await pilot.press("s")
        await until(pilot, lambda: app.progress.state == "done", what="run done")

    drive(app, script)
    app.controller.shutdown()
    live = [s for s in app.progress.summaries if s is not None]
    rec = read_recording(path)
    assert rec.header["settings"]["command"] == "tui"
    assert live and len(rec.models) == len(live)

    def same(summary):  # speedups are filled in across runs by the views
        return {k: v for k, v in summary.items() if k != "speedup"}

    assert [same(report.run_summary(m)) for m in rec.models] == [same(s) for s in live]
