"""Fixtures of the TUI tests: a fixed deck, recorded snapshots, apps fed from them."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from gilviz.core.teaching import presets as cpresets
from gilviz.tui.app import GilvizApp
from gilviz.tui.controllers.fixtures import Recording, ReplayController
from gilviz.tui.style import Look

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures" / "snapshots"
DECK = HERE / "deck.toml"


def load_deck():
    return cpresets.load_deck(DECK)


def recording(name: str) -> Recording:
    return Recording.load(FIXTURES / f"{name}.json")


def reference_cache(path: Path) -> Path:
    """A reference cache with the recorded crunch race filled in (fixed date)."""
    from gilviz.core.teaching import reference

    rec = recording("crunch")
    runs = [dict(r.summary) for r in rec.runs]
    from gilviz.core import report

    report.fill_speedups(runs)
    reference.record("crunch-processes", runs, path, when=1_700_000_000)
    doc = json.loads(path.read_text())
    doc["presets"]["crunch-processes"]["updated"] = "2026-01-02 03:04"
    path.write_text(json.dumps(doc))
    return path


def replay_app(
    name: str = "crunch",
    *,
    finish: bool = False,
    preset: str | None = "crunch-threads",
    talk: bool = False,
    ascii_: bool = False,
    autostart: bool = True,
    cache: Path | None = None,
    deck=None,
) -> GilvizApp:
    rec = recording(name)
    return GilvizApp(
        deck=deck if deck is not None else load_deck(),
        controller=ReplayController(rec, finish=finish),
        machine=rec.machine,
        look=Look(ascii=ascii_),
        preset=preset,
        talk=talk,
        autostart=autostart,
        reference_cache=cache,
        record_results=cache is not None,
    )


@pytest.fixture
def colour(monkeypatch):
    """The root conftest sets NO_COLOR for every test; colour pictures need it unset."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def drive(app: GilvizApp, script, size=(120, 40)) -> None:
    """Run ``app`` headless at ``size`` and hand its pilot to ``script`` (a coroutine)."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(pilot)

    asyncio.run(main())


async def until(pilot, predicate, timeout: float = 30, what: str = "condition"):
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)
