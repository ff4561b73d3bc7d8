"""Pictures of every screen, fed from recorded snapshots (deterministic: fixed terminal
size, fixed data, no animation). Update with ``pytest tests/tui --snapshot-update`` after a
deliberate change, and look at the new SVGs before committing them.

The data: ``tests/fixtures/snapshots/crunch.json`` (a real crunch race recorded on a
2-core machine) and ``big.json`` (a synthetic 128-core machine running 64 workers).
"""

from __future__ import annotations

import pytest

from gilviz.core.teaching import presets as cpresets
from gilviz.core.teaching.presets import Preset

from .conftest import FIXTURES, reference_cache, replay_app

SIZES = [(80, 24), (120, 40)]
pytestmark = pytest.mark.usefixtures("colour")


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def big_deck() -> list[Preset]:
    return cpresets.load_deck(str(FIXTURES / "big-deck.toml"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
class TestDashboard:
    def test_live_thread_run(self, snap_compare, size):
        assert snap_compare(replay_app(), terminal_size=size, run_before=settle)

    def test_finished_process_run(self, snap_compare, size):
        app = replay_app(finish=True, preset="crunch-processes", autostart=False)
        press = ["p", "s"]  # the preset opens on its thread pool; p -> process
        assert snap_compare(app, terminal_size=size, press=press, run_before=settle)

    def test_idle_before_any_run(self, snap_compare, size):
        app = replay_app(autostart=False)
        assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
class TestOtherScreens:
    def test_race_finished(self, snap_compare, size):
        app = replay_app(finish=True, preset="crunch-processes", autostart=False)
        assert snap_compare(app, terminal_size=size, press=["r"], run_before=settle)

    def test_reference_measured(self, snap_compare, size, tmp_path):
        app = replay_app(autostart=False, cache=reference_cache(tmp_path / "reference.json"))
        assert snap_compare(app, terminal_size=size, press=["f"], run_before=settle)

    def test_reference_not_measured(self, snap_compare, size, tmp_path):
        app = replay_app(autostart=False, cache=tmp_path / "none.json")
        assert snap_compare(app, terminal_size=size, press=["f"], run_before=settle)

    def test_help(self, snap_compare, size):
        app = replay_app(autostart=False)
        assert snap_compare(app, terminal_size=size, press=["question_mark"], run_before=settle)

    def test_talk_claim_checked(self, snap_compare, size):
        app = replay_app(finish=True, preset="crunch-processes", talk=True)
        assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
class TestBigMachine:
    """128 cores and 64 workers: no core dropped, workers scroll, figures stay labelled."""

    def test_dashboard_64_threads(self, snap_compare, size):
        app = replay_app("big", deck=big_deck(), preset="crunch-64")
        assert snap_compare(app, terminal_size=size, run_before=settle)

    def test_dashboard_scrolled(self, snap_compare, size):
        app = replay_app("big", deck=big_deck(), preset="crunch-64")
        assert snap_compare(app, terminal_size=size, press=["pagedown", "down"], run_before=settle)

    def test_race_finished(self, snap_compare, size):
        app = replay_app("big", deck=big_deck(), preset="crunch-64", finish=True, autostart=False)
        assert snap_compare(app, terminal_size=size, press=["r"], run_before=settle)


class TestModes:
    def test_ascii_no_color(self, snap_compare, monkeypatch):
        monkeypatch.setenv("NO_COLOR", "1")
        app = replay_app(ascii_=True)
        assert snap_compare(app, terminal_size=(80, 24), run_before=settle)

    def test_terminal_too_small(self, snap_compare):
        assert snap_compare(replay_app(), terminal_size=(60, 20), run_before=settle)
