"""Talk mode on stage, and text that is never cut: Pilot on recorded runs (the replay
controller hands out the runs of tests/fixtures/snapshots/crunch.json for any plan).

Each test fails on the screens as issue 18 found them: a preset opened from the table under
the panels of the run before, a talk that lost its step to the table, a switch interval
thrown away by a rerun or sent to a process run, the last pool's panels alone after a race,
a deck that wrapped around, and titles, narration, claims and outcomes ending in "…".
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from gilviz.core.teaching import reference
from gilviz.tui.app import GilvizApp
from gilviz.tui.screens.dashboard import DashboardScreen
from gilviz.tui.screens.reference import ReferenceScreen
from gilviz.tui.screens.talk import TalkScreen
from gilviz.tui.style import STATE_LABEL, Look
from gilviz.tui.widgets.info import StatusLine
from gilviz.tui.widgets.timelines import TimelinesPanel

from .conftest import drive, load_deck, replay_app

TIMEOUT = 10


async def until(pilot, predicate, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)


def text_of(widget) -> list[str]:
    """What a LinesWidget shows, line by line."""
    return ["".join(t for t, _ in key) for key in widget._keys]


def words(text: str) -> list[str]:
    return text.split()


def race_deck():
    """The recorded crunch runs as three-pool talk steps: a claim about threads (the middle
    run), a convoy (the switch interval is the presenter's), and a step with no 'teaches'."""
    deck = load_deck()
    threads, processes = deck[0], deck[1]
    about_threads = replace(
        processes,
        name="about-threads",
        title="A claim about the middle run of three",
        claim={"kind": "contention_above", "pool": "thread", "min": 0.1, "needs_cores": 1},
    )
    convoy = replace(processes, name="convoy", title="The convoy")
    custom = replace(threads, name="mine", title="My own step", teaches="", rows=())
    return [about_threads, convoy, custom]


def notes(app: GilvizApp) -> str:
    return " | ".join(n.message for n in app._notifications)


# --- 3: a preset opened from the table -----------------------------------------------------


def test_a_preset_opened_from_the_table_shows_no_panels_of_the_run_before():
    app = replay_app(finish=True, preset="crunch-processes", autostart=True)

    async def script(pilot):
        dash = app.screen
        await until(pilot, lambda: dash.panels.timelines.snapshot is not None, "the run")
        await pilot.press("f")
        assert isinstance(app.screen, ReferenceScreen)
        app.open_preset("crunch-threads")  # as row 1 (or 2) of the table does
        await pilot.pause()
        assert app.screen is dash and dash.preset.name == "crunch-threads"
        app.tick()
        await pilot.pause()
        assert dash.panels.timelines.snapshot is None  # not crunch-processes' process run
        assert "no run of these settings yet" in dash.status.text
        await pilot.press("s")  # its own run: the panels again
        await until(pilot, lambda: dash.panels.timelines.snapshot is not None, "its own run")
        assert dash.status.state == "done"
        await pilot.press("right_square_bracket")  # the next preset: the same
        app.tick()
        await pilot.pause()
        assert dash.panels.timelines.snapshot is None

    drive(app, script)


# --- 8: screens opened from the talk return to its step -----------------------------------


def test_the_table_and_the_dashboard_return_to_the_talk_at_the_same_step():
    app = replay_app(finish=True, preset="crunch-threads", talk=True)

    async def script(pilot):
        talk = app.screen
        assert isinstance(talk, TalkScreen)
        await pilot.press("n")
        gen = app.progress.generation
        await pilot.press("f")
        assert isinstance(app.screen, ReferenceScreen)
        await pilot.press("escape")
        assert app.screen is talk and talk.index == 1
        assert app.progress.generation == gen  # the step was not rerun
        app.open_screen("reference")
        app.open_screen("talk")  # the palette's "Talk mode"
        assert app.screen is talk and talk.index == 1
        await pilot.press("d")
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.preset.name == talk.preset.name  # the dashboard on the step's preset
        await pilot.press("escape")
        assert app.screen is talk and talk.index == 1
        assert app.progress.generation == gen

    drive(app, script)


def test_a_talk_opened_over_the_dashboard_is_kept_at_its_step():
    app = replay_app(finish=True, preset="crunch-threads", autostart=False)

    async def script(pilot):
        app.open_screen("talk")
        await pilot.pause()
        talk = app.screen
        assert isinstance(talk, TalkScreen) and talk.index == 0
        await pilot.press("n", "f")
        assert isinstance(app.screen, ReferenceScreen)
        await pilot.press("escape")
        assert app.screen is talk and talk.index == 1
        await pilot.press("escape")  # from the talk: back to the dashboard
        assert isinstance(app.screen, DashboardScreen)
        app.open_screen("talk")
        await pilot.pause()
        assert app.screen is talk and talk.index == 1

    drive(app, script)


# --- 9: the switch interval ---------------------------------------------------------------


def test_a_switch_interval_set_while_idle_applies_to_the_rerun():
    app = replay_app(finish=True, preset="convoy", talk=True, deck=race_deck())

    async def script(pilot):
        talk = app.screen
        await until(pilot, lambda: talk.claim.mark != "", "the claim")
        assert all(s.switch_interval is None for s in app.progress.specs)
        await pilot.press("plus")  # idle: for the next rerun
        assert "10 ms" in talk.status.extra and "r reruns every run" in talk.status.extra
        await pilot.press("r")
        await until(pilot, lambda: talk.claim.mark != "", "the rerun's claim")
        assert [s.switch_interval for s in app.progress.specs] == [0.01, 0.01, 0.01]
        assert "every run ran with your switch interval, 10 ms" in talk.status.extra
        board = " ".join(text_of(talk.board))
        assert "processes 10 ms (yours, from the start)" in board
        await pilot.press("n")  # another step: the preset's own interval again
        await pilot.press("p")
        assert all(s.switch_interval is None for s in app.progress.specs)

    drive(app, script)


def test_a_switch_interval_pressed_during_the_process_run_is_not_sent_to_it():
    app = replay_app(finish=False, preset="convoy", talk=True, deck=race_deck())

    async def script(pilot):
        talk = app.screen
        c = app.controller
        p = c.poll()
        assert p.state == "running" and p.index == 0
        c._progress = replace(p, index=2, snapshot=c._recorded(p.specs[2]).live)
        app.tick()
        await pilot.pause()
        await pilot.press("plus")
        assert c.sent == []  # the runner's interval would not reach the process workers
        extra = talk.status.extra
        assert "run 3/3 (processes)" in extra and "does not reach process workers" in extra
        c._progress = replace(p, index=1, snapshot=c._recorded(p.specs[1]).live)
        app.tick()
        await pilot.pause()
        assert c.sent == ["switch 0.01"]  # a thread run: the presenter's interval, at its start
        await pilot.press("minus")  # live, and the screen names the run
        assert c.sent == ["switch 0.01", "switch 0.005"]
        assert "run 2/3 (threads): 5 ms (set live" in talk.status.extra

    drive(app, script)


# --- 10: after several runs, every run side by side ---------------------------------------


def test_after_several_runs_the_board_shows_each_run_and_the_panels_the_claims_run():
    app = replay_app(finish=True, preset="about-threads", talk=True, deck=race_deck())

    async def script(pilot):
        talk = app.screen
        await until(pilot, lambda: talk.board.display and talk.claim.mark != "", "the board")
        p = app.progress
        assert "the serial run · threads · processes" in " ".join(text_of(talk.narration))
        board = text_of(talk.board)
        rows = [line for line in board if line[2:3].isdigit()]
        assert [r[2:].split()[1] for r in rows] == ["the", "threads", "processes"]
        assert rows[1].startswith("▶ 2 threads")  # the claim is about the thread run
        wall = p.summaries[1]["wall_s"]
        assert f"{wall:.2f} s" in rows[1]
        assert talk.panels.timelines.snapshot is p.finals[1]
        assert "run 2, threads, the run the claim is about" in " ".join(board)
        await pilot.press("3")
        assert talk.panels.timelines.snapshot is p.finals[2]
        assert text_of(talk.board)[3].startswith("▶ 3 processes")

    drive(app, script)


def test_a_run_too_short_to_measure_gives_way_to_the_next_the_claim_names():
    """tiny-tasks: the claim's winner ran too briefly to sample; its loser is shown."""
    app = replay_app(finish=True, preset="crunch-processes", talk=True)

    async def script(pilot):
        talk = app.screen
        await until(pilot, lambda: talk.board.display, "the board")
        assert talk.shown == 2  # the claim: processes faster than threads
        c = app.controller
        p = c.poll()
        summaries = list(p.summaries)
        summaries[2] = {**summaries[2], "too_short": {"wall_s": 0.05}}
        c._progress = replace(p, summaries=tuple(summaries), generation=p.generation + 1)
        app.tick()
        await pilot.pause()
        assert talk.shown == 1 and talk.panels.timelines.snapshot is p.finals[1]

    drive(app, script)


# --- 11: the end of the deck, and a custom deck --------------------------------------------


def test_next_at_the_last_step_says_the_deck_has_ended_and_runs_nothing():
    app = replay_app(finish=True, preset="mine", talk=True, deck=race_deck())

    async def script(pilot):
        talk = app.screen
        assert talk.index == 2
        assert "teaches" not in talk.banner.tag  # this step teaches nothing by name
        gen = app.progress.generation
        await pilot.press("n")
        assert talk.index == 2 and app.progress.generation == gen
        assert "The deck has ended: 3/3 was its last step" in notes(app)
        assert "the end" in talk.banner.step

    drive(app, script)


# --- 6: wrapped, not cut --------------------------------------------------------------------


LONG_CLAIM = (
    "threads faster than processes by at least 1.2x: 1.15x vs 0.22x speedup (wall 0.334 s "
    "vs 1.740 s); pickling on processes at least 25% of wall time: 2.875 s pickling 37.2 MiB "
    "(runner and workers together) against 0.523 s wall (550%)"
)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_talk_titles_narration_and_claims_are_whole(size):
    deck = load_deck()
    long = replace(
        deck[1],
        title="Processes on pure-Python arithmetic: one GIL each, every core busy at last",
        narration=(
            "Serial, four threads, then four processes, each with its own interpreter and GIL.",
            "Watch every core fill up on the process run, with no GIL wait at all, while the "
            "threads queue for their one GIL.",
            "Claim: for CPU-bound Python, processes beat threads (given two cores or more).",
        ),
    )
    app = replay_app(finish=True, preset=long.name, talk=True, deck=[long])

    async def script(pilot):
        talk = app.screen
        await until(pilot, lambda: talk.claim.mark != "", "the claim")
        talk.claim.set("✓", f"claim: {LONG_CLAIM}", talk.claim.style)
        await pilot.pause()
        for widget, text in (
            (talk.banner, long.title.upper()),
            (talk.narration, " ".join(long.narration)),
            (talk.claim, LONG_CLAIM),
        ):
            shown = text_of(widget)
            assert not any(line.rstrip().endswith("…") for line in shown)
            every = [w for line in shown for w in words(line) if w != talk.banner.step]
            assert " ".join(words(text)) in " ".join(every)

    drive(app, script, size=size)


def test_the_status_line_wraps_the_outcome_in_words():
    """shared-counter's figure: the lost updates, and words for the processes' copies."""
    from gilviz.tui.widgets.info import status_text

    rec = replay_app().controller.recording.runs[0].final
    threads = replace(
        rec,
        outcome={"expected": 4_000_000, "final": 1_472_440, "lost_updates": 2_527_560, "copies": 1},
    )
    status = StatusLine()
    status.set("done", status_text(threads))
    lines = [
        "".join(t for t, _ in line.key()) for line in status.build(118, status.wanted_height(118))
    ]
    assert len(lines) >= 2
    assert "2,527,560 of 4,000,000 updates lost" in " ".join(" ".join(lines).split())
    processes = replace(
        rec,
        pool="process",
        outcome={
            "expected": 4_000_000,
            "final": 0,
            "lost_updates": None,
            "copies": 4,
            "per_process": [1_000_000] * 4,
        },
    )
    text = status_text(processes)
    assert "4 separate copies of the counter (one per worker process)" in text
    assert "the runner's own copy stayed at 0" in text


@pytest.mark.parametrize("ascii_", [False, True])
def test_the_state_legend_names_every_state_at_80_columns(ascii_):
    panel = TimelinesPanel(look=Look(ascii=ascii_))
    shown = " ".join("".join(t for t, _ in line.key()) for line in panel._legend(78))
    for state in ("running", "gil_wait", "io_wait", "lock_wait", "runnable", "idle"):
        assert STATE_LABEL[state] in shown
    assert all(line.length <= 78 for line in panel._legend(78))


def test_the_reference_keeps_a_process_pool_error_whole(tmp_path):
    cache = tmp_path / "reference.json"
    error = (
        "a process-pool worker terminated abruptly (4 workers killed by SIGSEGV); the pool "
        "is broken, gilviz survives and the next run works"
    )
    reference.record(
        "crash",
        [{"pool": "process", "workload": "segfault", "tasks": 4, "size": 1, "error": error}],
        cache,
    )
    rows = {r["key"]: r for r in reference.table(reference.load(cache))}
    measured = rows["crash"]["measured"]
    assert "processes failed (a process-pool worker terminated abruptly)" in measured
    assert "processes failed (a process-pool worker terminated abruptly)" in reference.markdown(
        reference.table(reference.load(cache))
    )


def test_the_race_board_wraps_an_outcome_and_an_error():
    app = replay_app(finish=True, preset="crunch-processes", autostart=False)

    async def script(pilot):
        from gilviz.tui.screens.race import RaceScreen

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RaceScreen), "the race")
        race = app.screen
        await until(pilot, lambda: race.board.progress.finished, "the race's end")
        p = race.board.progress
        summaries = list(p.summaries)
        summaries[1] = {
            **summaries[1],
            "outcome": {"expected": 40, "final": 33, "lost_updates": 7, "copies": 1},
        }
        summaries[2] = {**summaries[2], "error": "a process-pool worker terminated " * 6}
        race.board.progress = replace(p, summaries=tuple(summaries))
        lines = ["".join(t for t, _ in ln.key()) for ln in race.board.build(100, 0)]
        shown = " ".join(" ".join(lines).split())
        assert "7 of 40 updates lost: the shared counter ended at 33" in shown
        assert ("a process-pool worker terminated " * 6).strip() in shown

    drive(app, script)
