"""What the screens say about the interpreter: which Python each figure came from (the
runner's Hello, not gilviz's own), which pools that Python lacks and what they need, and a
process pool's start-up apart from its work.

Fed from the recorded crunch race, with its snapshots and machine changed to what a
3.14 runner, or a Python without interpreter pools, would give.
"""

from __future__ import annotations

from dataclasses import replace

from gilviz.core.teaching.presets import PoolChoice
from gilviz.tui.app import GilvizApp
from gilviz.tui.controllers.fixtures import Recording, ReplayController
from gilviz.tui.screens.race import RaceScreen
from gilviz.tui.screens.talk import TalkScreen
from gilviz.tui.style import Look

from .conftest import load_deck, recording
from .test_pilot import drive, until

PY314 = {
    "version": "3.14.10",
    "implementation": "CPython",
    "gil_enabled": True,
    "build": "GCC 16.2.0, static libpython",
}
NO_INTERPRETERS = {
    "serial": None,
    "thread": None,
    "process": None,
    "interpreter": "Python 3.11.7 has no concurrent.futures.InterpreterPoolExecutor (added in 3.14)",
    "free-threaded": "/usr/bin/python3 is not a free-threaded build",
}
STARTUP = {
    "pool_start_s": 0.1123,
    "first_task_s": 0.5231,
    "steady_task_s": 0.4817,
    "start_method": "forkserver",
    "method": "the runner's monotonic clock",
}


def shown(widget) -> str:
    """The text a lines widget shows now, line by line."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def app_on(rec: Recording, *, finish=True, preset="crunch-threads", talk=False, deck=None, **kw):
    return GilvizApp(
        deck=deck if deck is not None else load_deck(),
        controller=ReplayController(rec, finish=finish),
        machine=rec.machine,
        look=Look(),
        preset=preset,
        talk=talk,
        record_results=False,
        **kw,
    )


def ran_on(python: dict, startup: dict | None = None) -> Recording:
    """The recorded crunch race as if a runner on ``python`` had made it (the machine
    stays gilviz's own, CPython 3.11.7), its process run with ``startup``."""
    rec = recording("crunch")
    runs = []
    for r in rec.runs:
        st = startup if r.spec.pool == "process" else None
        runs.append(
            replace(
                r,
                live=replace(r.live, python=python),
                final=replace(r.final, python=python, startup=st),
                summary={**r.summary, "startup": st},
            )
        )
    return replace(rec, runs=runs)


def without_interpreters() -> Recording:
    rec = recording("crunch")
    return replace(rec, machine=replace(rec.machine, pools=NO_INTERPRETERS))


# --- the run header names the runner's interpreter -----------------------------------------


def test_headers_name_the_interpreter_the_runner_said_it_runs_on():
    rec = ran_on(PY314)
    assert rec.machine.python == "CPython 3.11.7"  # gilviz's own, which made no figure
    app = app_on(rec, finish=False, autostart=True)

    async def script(pilot):
        await until(pilot, lambda: "3.14" in shown(app.screen.title_bar), what="header")
        head = shown(app.screen.title_bar).splitlines()[0]
        assert "CPython 3.14.10 · GIL" in head and "3.11.7" not in head
        await pilot.press("r")
        race = app.screen
        assert isinstance(race, RaceScreen)
        await until(pilot, lambda: "3.14" in shown(race.title_bar), what="race header")
        assert "CPython 3.14.10 · GIL" in shown(race.title_bar).splitlines()[0]

    drive(app, script)


def test_talk_header_names_a_free_threaded_runner():
    free = {**PY314, "gil_enabled": False, "build": "GCC 16.2.0, free-threaded"}
    app = app_on(ran_on(free), talk=True, autostart=True)

    async def script(pilot):
        talk = app.screen
        assert isinstance(talk, TalkScreen)
        await until(pilot, lambda: "3.14" in shown(talk.narration), what="talk header")
        assert "talk mode · CPython 3.14.10 · free-threaded" in shown(talk.narration)

    drive(app, script)


# --- pools this Python lacks are named, with what they need --------------------------------


def test_the_race_says_which_pool_it_left_out_and_why():
    app = app_on(without_interpreters(), preset="crunch-threads", autostart=False)

    async def script(pilot):
        await pilot.press("w", "r")  # your own settings, then the race of every pool
        race = app.screen
        assert isinstance(race, RaceScreen)
        note = "not raced: interpreter: needs Python 3.14+ (this is CPython 3.11.7)"
        await until(pilot, lambda: note in shown(race.status), what="the race's note")
        assert [s.pool for s in race._progress.specs] == ["serial", "thread", "process"]

    drive(app, script)


def test_the_pool_picker_says_what_it_does_not_offer():
    app = app_on(without_interpreters(), autostart=False)

    async def script(pilot):
        dash = app.screen
        assert "needs Python 3.14+" not in shown(dash.status)
        await pilot.press("p")
        await until(pilot, lambda: "p: " in shown(dash.status), what="the picker's note")
        text = shown(dash.status)
        assert "p: serial, thread, process" in text
        assert "interpreter: needs Python 3.14+" in text and "this is CPython 3.11.7" in text

    drive(app, script)


def test_a_talk_step_runs_what_this_python_has_and_says_what_it_does_not():
    deck = load_deck()
    step = replace(
        deck[0],
        name="crunch-interpreters",
        pools=(*deck[0].pools, PoolChoice("interpreter", workers=2)),
    )
    app = app_on(without_interpreters(), talk=True, deck=[step])

    async def script(pilot):
        talk = app.screen
        note = "not run: interpreter: needs Python 3.14+ (this is CPython 3.11.7)"
        await until(pilot, lambda: note in shown(talk.status), what="the step's note")
        assert "interpreter" not in [s.pool for s in talk._progress.specs]

    drive(app, script)


def test_talk_says_which_presets_the_deck_left_out():
    note = "interpreter: needs Python 3.14+ (this is CPython 3.11.7): 1 preset left out (x)"
    app = app_on(recording("crunch"), talk=True, deck_note=note)

    async def script(pilot):
        talk = app.screen
        await until(pilot, lambda: note in shown(talk.status), what="the deck's note")

    drive(app, script)


# --- start-up, apart from the work ---------------------------------------------------------


def test_a_process_pools_start_up_is_on_the_dashboard_and_the_race():
    app = app_on(ran_on(PY314, STARTUP), preset="crunch-processes", autostart=False)
    line = (
        "process start-up: pool start 0.112 s (forkserver), first task 0.523 s, "
        "then 0.482 s a task (median)"
    )

    async def script(pilot):
        dash = app.screen
        await pilot.press("p", "s")  # the preset opens on threads: p -> process
        await until(pilot, lambda: line in shown(dash.status), what="start-up on the dashboard")
        await pilot.press("r")
        race = app.screen
        await until(pilot, lambda: line in shown(race.status), what="start-up on the race")

    drive(app, script)
