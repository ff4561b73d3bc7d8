"""``gilviz replay FILE.jsonl`` in the TUI: the RecordingPlayer on a small recording made
here, driven by a hand-advanced clock (no sleeps), and the ReplayScreen's keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gilviz import cli
from gilviz.core import report
from gilviz.core.recording.reader import read_recording
from gilviz.tui.app import GilvizApp
from gilviz.tui.controllers.player import machine_of, player_for
from gilviz.tui.screens.replay import ReplayScreen
from gilviz.tui.style import Look

from .conftest import drive


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def rec_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "rec.jsonl"
    code = cli.main(
        ["compare", "crunch", "--pools", "serial,thread", "--workers", "2", "--tasks", "4",
         "--size", "300000", "--hz", "50", "--json", "--record", str(path)]
    )  # fmt: skip
    assert code == 0
    return path


def recorded_summaries(path: Path) -> list[dict]:
    runs = [report.run_summary(m) for m in read_recording(path).models]
    report.fill_speedups(runs)
    return runs


def make_app(path: Path, clock: Clock) -> tuple[GilvizApp, object]:
    rec = read_recording(path)
    player = player_for(path, rec, clock=clock)
    app = GilvizApp(
        deck=[],
        controller=player,
        machine=machine_of(rec),
        look=Look(),
        record_results=False,
        dashboard_cls=ReplayScreen,
    )
    return app, player


def test_player_ends_with_the_recorded_figures(rec_path, capsys):
    capsys.readouterr()
    clock = Clock()
    rec = read_recording(rec_path)
    player = player_for(rec_path, rec, clock=clock)
    assert player.duration_s > 0
    clock.advance(5.0)  # the app starting: the clock waits for the first poll
    assert player.position == 0.0
    p = player.poll()
    assert p.state == "running" and p.index == 0 and p.finals == (None, None)
    clock.advance(player.duration_s / 2)
    assert player.position == pytest.approx(player.duration_s / 2)
    clock.advance(player.duration_s)  # past the end: clamped
    p = player.poll()
    assert p.state == "done" and player.at_end
    assert [dict(s) for s in p.summaries] == recorded_summaries(rec_path)
    assert p.finals[-1] == rec.models[-1].snapshot()
    assert p.snapshot == rec.models[-1].snapshot()
    # Same figures as `gilviz replay --json` prints.
    assert cli.main(["replay", str(rec_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["wall_s"] for r in doc["runs"]] == [s["wall_s"] for s in p.summaries]


def test_scenes_play_one_plan_at_a_time_and_hold_their_end(rec_path):
    """Each run as a scene of its own (two plans), each end held 1 s: the progress is the
    scene's, done during the hold, and the next scene starts from its own first run."""
    from gilviz.tui.controllers.base import Plan
    from gilviz.tui.controllers.player import Scene

    rec = read_recording(rec_path)
    plans = [Plan(f"plan {i}", lambda url: [], kind="race") for i in range(2)]
    scenes = [Scene("race", plans[0], 0, 1), Scene("race", plans[1], 1, 1)]
    clock = Clock()
    player = player_for(rec_path, rec, clock=clock, scenes=scenes, hold_s=1.0)
    first, second = (t.duration_ns / 1e9 for t in player.tracks)
    assert player.duration_s == pytest.approx(first + second + 2.0)
    assert player.offsets == [0.0, pytest.approx(first + 1.0)]
    player.seek_to(0.0)
    p = player.poll()
    assert (p.plan, p.state, p.index, len(p.specs)) == (plans[0], "running", 0, 1)
    clock.advance(first + 0.5)  # within the first scene's hold
    p = player.poll()
    assert (p.plan, p.state, player.scene()) == (plans[0], "done", 0)
    assert p.summaries[0]["wall_s"] == recorded_summaries(rec_path)[0]["wall_s"]
    player.seek_to(player.offsets[1])  # the hold is over: the second plan, from its start
    p = player.poll()
    assert (p.plan, p.state, p.index, player.scene()) == (plans[1], "running", 0, 1)
    assert p.summaries == (None,) and p.snapshot.tasks_done == 0
    clock.advance(player.duration_s)
    p = player.poll()
    assert (p.plan, p.state) == (plans[1], "done")
    assert p.summaries[0]["wall_s"] == recorded_summaries(rec_path)[1]["wall_s"]


def test_seeking_back_rebuilds_the_same_state(rec_path):
    clock = Clock()
    player = player_for(rec_path, read_recording(rec_path), clock=clock, paused=True)
    player.seek_to(player.duration_s * 0.3)
    first = player.poll().snapshot
    player.seek_to(player.duration_s * 0.9)
    player.poll()
    player.seek_to(player.duration_s * 0.3)
    assert player.poll().snapshot == first
    assert first.elapsed_s <= player.duration_s


def test_replay_screen_keys(rec_path):
    clock = Clock()
    app, player = make_app(rec_path, clock)
    summaries = recorded_summaries(rec_path)

    async def script(pilot):
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        text = player.banner()
        assert text.startswith("REPLAY rec.jsonl · run 1/2 (serial) · 0.00s / ")
        assert "1x · playing" in text and "run 1/2 (serial)" in text
        assert screen.title_bar.title_text.startswith("REPLAY rec.jsonl · run 1/2")
        assert screen.title_bar.right.endswith("1x · playing")

        # The clock runs at 1x, then 2x.
        clock.advance(player.duration_s * 0.1)
        assert player.position == pytest.approx(player.duration_s * 0.1)
        await pilot.press("greater_than_sign")
        assert player.speed == 2.0
        clock.advance(player.duration_s * 0.1)
        assert player.position == pytest.approx(player.duration_s * 0.3)
        await pilot.press("minus", "minus")
        assert player.speed == 0.5
        await pilot.press("plus")
        assert player.speed == 1.0
        for _ in range(6):
            await pilot.press("less_than_sign")
        assert player.speed == 0.5  # the slowest
        await pilot.press("plus")

        # Pause stops the clock.
        await pilot.press("space")
        assert player.paused and "paused" in player.banner()
        pos = player.position
        clock.advance(10.0)
        assert player.position == pos
        await pilot.pause()
        assert screen.title_bar.right.endswith("1x · paused")

        # → and ← move by a tenth of the recording.
        await pilot.press("right")
        assert player.position == pytest.approx(pos + player.duration_s * 0.1)
        await pilot.press("left", "left")
        assert player.position == pytest.approx(pos - player.duration_s * 0.1)
        await pilot.press("left", "left", "left", "left")
        assert player.position == 0.0
        assert app.controller.poll().index == 0

        # The end: the recorded figures, in the panels' progress.
        for _ in range(10):
            await pilot.press("right")
        assert player.at_end and "ended" in player.banner()
        await pilot.pause()
        p = app.progress
        assert p.state == "done"
        assert [dict(s) for s in p.summaries] == summaries
        # Space at the end plays again from the start.
        await pilot.press("space")
        assert not player.paused and player.position == 0.0
        await pilot.press("q")

    drive(app, script)


def test_replay_shows_and_obeys_the_players_keys_only(rec_path):
    """The footer lists what the player does; the dashboard's keys change nothing; at the end
    space plays again from the start, as the controls say."""
    from gilviz.tui.screens.help import HelpScreen, help_rows

    clock = Clock()
    app, player = make_app(rec_path, clock)

    async def script(pilot):
        screen = app.screen
        shown = {b.binding.description for b in screen.active_bindings.values() if b.binding.show}
        assert shown == {"play/pause", "speed", "seek 10%", "quit", "help"}

        # The command palette opens no other screen (they would run nothing, or restart it).
        titles = {c.title for c in app.get_system_commands(screen)}
        assert "Help" in titles and not titles & {"Dashboard", "Race", "Reference", "Talk mode"}

        # The dashboard's and the other screens' keys do nothing to the replay.
        clock.advance(player.duration_s * 0.2)
        pos = player.position
        await pilot.press("s", "p", "r", "w", "t", "f", "d")
        await pilot.pause()
        assert app.screen is screen and not player.paused
        assert player.position == pytest.approx(pos)
        assert (screen.pool, screen.workload) == ("thread", "crunch")  # untouched defaults

        # Played to the end (never paused): the controls offer to play again, and space does.
        clock.advance(player.duration_s)
        app.tick()
        assert player.at_end and not player.paused
        await pilot.pause()
        assert ("space", "play again", "") in screen.controls.settings
        await pilot.press("space")
        assert player.position == 0.0 and not player.paused
        clock.advance(player.duration_s * 0.1)
        assert player.position == pytest.approx(player.duration_s * 0.1)

        # The help lists the player's keys, each in full, and none of the dashboard's.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        titles = [t for t, _ in app.screen.sections]
        assert titles == ["Everywhere", "Replay (gilviz replay FILE)"]
        rows = dict(r for _, b in app.screen.sections for r in help_rows(b))
        assert rows["< -"] == "slower" and rows["> + ="] == "faster"
        assert rows["←"] == "back 10%" and rows["→"] == "ahead 10%"
        assert "f" not in rows and "s" not in rows and "p" not in rows
        await pilot.press("escape", "q")

    drive(app, script)
