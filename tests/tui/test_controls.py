"""The keys say what they do and do what they say: the dashboard's settings (what changed,
what differs from the preset, a warning before a very long run), the reference table's
selection at 80x24, the replay screen's player keys, the help's one style, and the marks
that a session is recorded or on a slow link."""

from __future__ import annotations

import asyncio
import time

import pytest

from gilviz.tui import deck as gdeck
from gilviz.tui.app import GilvizApp
from gilviz.tui.screens.dashboard import DashboardScreen
from gilviz.tui.screens.reference import ReferenceHead, ReferenceScreen

from .conftest import replay_app

TIMEOUT = 30


def drive(app: GilvizApp, script, size=(120, 40)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(pilot)

    asyncio.run(main())


async def until(pilot, predicate, timeout: float = TIMEOUT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


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
                if b.description:
                    family.setdefault(b.action.split("(")[0], []).append(b.tooltip or b.description)
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
        bars = [w for w in app.screen.query("TitleBar")]
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
