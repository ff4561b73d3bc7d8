"""The keys say what they do and do what they say: the dashboard's settings (what changed,
what differs from the preset, a warning before a very long run), the reference table's
selection at 80x24, the replay screen's player keys, the help's one style, and the marks
that a session is recorded or on a slow link."""

from __future__ import annotations

import pytest

from gilviz.tui import deck as gdeck
from gilviz.tui.app import GilvizApp
from gilviz.tui.screens.dashboard import DashboardScreen
from gilviz.tui.screens.reference import ReferenceHead, ReferenceScreen

from .conftest import drive, replay_app, until

TIMEOUT = 30


# --- the dashboard's settings (#12) ---------------------------------------------------------


def notes(app: GilvizApp) -> list[str]:
    return [n.message for n in app._notifications]


def controls(dash: DashboardScreen) -> dict[str, str]:
    """The value shown for each setting, by its name ("workers", "size")."""
    names = {"w": "workload", "p": "pool", "+/-": "workers", "t/T": "tasks", "</>": "size"}
    return {names.get(key, key): value for key, value, _ in dash.controls.settings}


def test_pool_and_workload_keys_say_what_else_changed():
    """The test deck's crunch-threads: serial and thread ×4, 16 tasks of 10M."""
    app = replay_app(autostart=False)

    async def script(pilot):
        dash = app.screen
        assert controls(dash)["pool"] == "thread" and not dash.modified
        await pilot.press("p")  # process: not one of the preset's pools
        assert dash.pool == "process" and dash.modified
        assert controls(dash)["pool"] == "process*" and controls(dash)["workers"] == "4"
        assert dash.title_bar.narration.startswith(
            "* = changed; the preset has pools serial, thread."
        )
        assert notes(app)[-1] == "pool process; the preset runs on serial, thread (marked *)"
        while dash.pool != "serial":
            await pilot.press("p")
        assert not dash.modified and controls(dash)["workers"] == "1"
        assert notes(app)[-1] == "pool serial: one worker runs the tasks one after another"
        # + on serial changes nothing (not even hidden) and says why.
        await pilot.press("plus")
        assert dash.n_workers == 4 and controls(dash)["workers"] == "1"
        assert notes(app)[-1] == "a serial run has one worker: p picks a pool of several"
        await pilot.press("p")
        assert (dash.pool, dash.n_workers) == ("thread", 4)
        assert notes(app)[-1] == "pool thread: 4 workers, the preset's (serial ran one)"
        # A changed value is marked; back at the preset's, it is not.
        await pilot.press("plus")
        assert controls(dash)["workers"] == "5*" and dash.modified
        assert "the preset has workers 4." in dash.title_bar.narration
        await pilot.press("minus")
        assert controls(dash)["workers"] == "4" and not dash.modified
        assert not dash.title_bar.narration.startswith("*")
        await pilot.press("greater_than_sign")
        assert controls(dash)["size"] == "20M*" and "the preset has size 10M." in (
            dash.title_bar.narration
        )
        # A workload's defaults replace workers and tasks: said, with the new values.
        await pilot.press("w")
        assert dash.preset is None and dash.workload == "fetch"
        assert notes(app)[-1] == (
            "workload fetch, with its defaults: 10 workers, 10 tasks, size 1.02k (the bytes in "
            "each reply)"
        )
        assert (controls(dash)["workers"], controls(dash)["tasks"]) == ("10", "10")

    drive(app, script)


def test_a_run_estimated_to_be_long_waits_for_a_second_s():
    """16 tasks of 10M, at the measured 4M a second: 40 s, no warning; twice the size:
    80 s, a warning that says how it was estimated, and s starts only when pressed again."""
    app = replay_app(autostart=False)
    app.measured_runs = [
        {"workload": "crunch", "pool": "thread", "pool_size": 4, "tasks": 4, "tasks_done": 4,
         "size": 1_000_000, "wall_s": 1.0, "error": None}
    ]  # fmt: skip

    async def script(pilot):
        dash = app.screen
        assert dash.long_run_warning(["thread"]) is None
        await pilot.press("greater_than_sign")
        assert notes(app)[-1] == (
            "size 20M: this run may take about 80 s (estimated from crunch on threads ×4, "
            "4 × 1M in 1.00 s measured here, scaled to tasks × size)"
        )
        await pilot.press("s")
        assert dash._plan is None  # not started
        assert notes(app)[-1].startswith("This run may take about 80 s (estimated from ")
        assert notes(app)[-1].endswith(
            "Press s again to start it anyway, or < and t to make it smaller."
        )
        await pilot.press("s")
        assert dash._plan is not None  # started
        first = dash._plan
        await until(pilot, lambda: app.progress.plan is first, what="the run")
        # Stopped, then s again: the same settings were confirmed, it starts at once.
        await pilot.press("s")
        await until(pilot, lambda: not app.progress.active, what="the stop")
        await pilot.press("s")
        assert dash._plan is not first
        await until(pilot, lambda: app.progress.active, what="the second run")
        # A race of these settings (serial, thread, process): each pool's estimate adds up.
        await pilot.press("s")
        await until(pilot, lambda: not app.progress.active, what="the stop")
        await pilot.press("r")
        assert isinstance(app.screen, DashboardScreen)
        assert notes(app)[-1].startswith("This race may take about 4 min")
        assert notes(app)[-1].endswith(
            "Press r again to start it anyway, or < and t to make it smaller."
        )

    drive(app, script)


def test_without_a_measured_run_a_huge_run_is_named_by_its_work():
    app = replay_app(autostart=False)

    async def script(pilot):
        dash = app.screen
        for _ in range(5):
            await pilot.press("greater_than_sign")
        assert dash.long_run_warning(["thread"]) is None  # 32 times the preset's work
        await pilot.press("greater_than_sign")
        assert notes(app)[-1] == (
            "size 640M: 64× the preset's work (tasks × size), and no crunch run measured here "
            "to estimate its time from"
        )
        await pilot.press("s")
        assert dash._plan is None
        await pilot.press("less_than_sign", "s")  # other settings: no warning, it starts
        assert dash._plan is not None

    drive(app, script)


def test_at_80x24_every_setting_stays_on_screen():
    app = replay_app(autostart=False)

    async def script(pilot):
        dash = app.screen
        await pilot.press("p", *["greater_than_sign"] * 7)
        await pilot.pause()
        shown = " ".join(
            dash.controls.render_line(y).text for y in range(dash.controls.size.height)
        )
        for text in ("p process*", "+/- 4 workers", "t/T 16 tasks", "</> 1.28G* size"):
            assert text in shown, shown

    drive(app, script, size=(80, 24))


# --- the reference table (#13) -------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_reference_arrows_move_the_selection_and_enter_opens_it(size):
    app = replay_app(autostart=False, deck=gdeck.load())

    async def script(pilot):
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ReferenceScreen), what="reference")
        ref = app.screen
        head = ref.query_one(ReferenceHead)
        scroll = ref.query_one("#ref-scroll")
        await pilot.press("down", "down", "down")
        assert ref.table.selected == 3
        # The selected row is in view, and the column titles above it still are.
        await pilot.pause()
        y = scroll.scroll_y
        view = scroll.scrollable_content_region.height
        top = sum(ref.table.row_height(r) + 1 for r in ref.table.rows[:3])
        assert y <= top < y + view
        assert head.region.y < scroll.region.y and head.region.height >= 2
        await pilot.press("up")
        assert ref.table.selected == 2
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        row = ref.table.rows[2]  # overhead: its first preset in the deck
        names = [p.name for p in app.deck]
        assert app.screen.preset.name == next(n for n in row["presets"] if n in names)

    drive(app, script, size=size)


# --- the help's one style (#15) ------------------------------------------------------------


def test_help_names_each_key_of_a_pair_in_the_same_style():
    """A pair the footer shows once ("+/- workers") reads as two full entries in the help:
    "+ =  more workers", "-  fewer workers", never "workers" beside "fewer workers"."""
    from gilviz.tui.screens.help import HelpScreen, help_rows

    app = replay_app(autostart=False)

    async def script(pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        sections = {t: help_rows(b) for t, b in app.screen.sections}
        dash = dict(sections["Dashboard"])
        assert dash["+ ="] == "more workers" and dash["-"] == "fewer workers"
        assert dash[">"] == "double the size" and dash["<"] == "halve the size"
        for title, bindings in app.screen.sections:
            # The actions of one family (workers(1), workers(-1)) read alike: as many words.
            family: dict[str, list[str]] = {}
            for b in bindings:
                name, _, arg = b.action.rstrip(")").partition("(")
                if b.description and arg.lstrip("-").replace(".", "").isdigit():
                    family.setdefault(name, []).append(b.tooltip or b.description)
            for name, texts in family.items():
                assert len({len(t.split()) for t in texts}) == 1, (title, name, texts)

    drive(app, script)


# --- the session's marks: recording, low bandwidth (#17) -----------------------------------


def test_low_bandwidth_is_named_when_it_sets_the_frame_rate():
    from types import SimpleNamespace as NS

    from gilviz.tui.launch import low_bandwidth, rates

    assert low_bandwidth(NS(fps=None, low_bandwidth=True), {}) == "low bandwidth"
    assert low_bandwidth(NS(fps=None, low_bandwidth=False), {"SSH_CONNECTION": "a b"}) == (
        "SSH link"
    )
    assert low_bandwidth(NS(fps=None, low_bandwidth=False), {}) is None
    assert low_bandwidth(NS(fps="8", low_bandwidth=True), {}) is None  # --fps chose
    assert rates(NS(fps=None, low_bandwidth=True, tui_hz=None))[0] == 1.0


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("talk", [False, True])
def test_every_screen_says_the_session_is_recorded_and_on_a_slow_link(tmp_path, size, talk):
    from gilviz.core.recording.recorder import Recorder

    app = replay_app(autostart=False, talk=talk)
    app.low_bandwidth = "low bandwidth"
    app.fps = 1.0
    recorder = app.controller.recorder = Recorder(tmp_path / "talk.jsonl")

    def top_line() -> str:
        # a talk says it on the first line of its narration, other screens on the title bar
        bars = [*app.screen.query("TitleBar"), *app.screen.query("Narration")]
        return bars[0].render_line(0).text

    async def script(pilot):
        await pilot.pause()
        for _ in range(2):  # the first screen, then the reference table
            text = top_line()
            assert "● REC talk.jsonl" in text and "low bandwidth: 1 frame/s" in text, text
            await pilot.press("f")
            await until(pilot, lambda: isinstance(app.screen, ReferenceScreen), what="table")
        recorder.error = "recording stopped: No space left on device"
        app.screen.title_bar.set("Threads or processes", "")
        assert "REC stopped" in top_line() and "● REC" not in top_line()

    try:
        drive(app, script, size=size)
    finally:
        recorder.close()


def test_a_run_asked_for_on_the_command_line_starts_without_a_second_s(monkeypatch):
    # `gilviz crunch ... --start`: the settings were chosen on the command line, so even a
    # run estimated to be long starts at once; the same settings from the keys wait for s.
    monkeypatch.setattr(
        DashboardScreen, "long_run_warning", lambda self, pools: "about 8 min (estimated)"
    )
    asked = replay_app(autostart=True)

    async def started(pilot):
        await pilot.pause()
        assert asked.screen._plan is not None

    drive(asked, started)
    keyed = replay_app(autostart=False)

    async def waits(pilot):
        await pilot.press("s")
        assert keyed.screen._plan is None

    drive(keyed, waits)
