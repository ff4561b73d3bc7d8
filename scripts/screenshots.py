"""Regenerate the SVG pictures of every screen, from the real app, into screenshots/, and
a real asciinema cast of a talk step (screenshots/talk.cast, from screenshots/talk.jsonl).

    .venv/bin/python scripts/screenshots.py          # fed from the recorded runs (stable)
    .venv/bin/python scripts/screenshots.py --live   # run the presets here and now

By default the app is fed from ``tests/fixtures/snapshots/crunch.json`` (a crunch race
recorded on a 2-core machine) and ``big.json`` (a synthetic 128-core machine with 64
workers, drawn only to show the layout at that scale), with the built-in presets' words.
``--live`` starts real runs of the built-in crunch presets on this machine instead (the
pictures then show this machine's figures).

The cast is ``gilviz export talk.jsonl --format asciicast``: the recording is of one talk
step (the built-in crunch-processes preset, made small) run here through the real app with
``--record``; it is made once and kept, so that the cast stays the same, and made again with
``--live`` (or when it is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
FIXTURES = ROOT / "tests" / "fixtures" / "snapshots"
sys.path.insert(0, str(ROOT / "src"))

from gilviz.core import report  # noqa: E402
from gilviz.core.teaching import presets as cpresets  # noqa: E402
from gilviz.core.teaching import reference  # noqa: E402
from gilviz.core.teaching.presets import Preset  # noqa: E402
from gilviz.tui.app import GilvizApp  # noqa: E402
from gilviz.tui.controllers.fixtures import Recording, ReplayController  # noqa: E402
from gilviz.tui.controllers.live import LiveController  # noqa: E402
from gilviz.tui.machine import Machine  # noqa: E402
from gilviz.tui.style import Look  # noqa: E402


def deck_for(rec: Recording) -> list[Preset]:
    """The built-in deck, with the crunch presets sized like the recording."""
    spec = rec.runs[0].spec
    out = []
    for p in cpresets.builtin_presets():
        if p.workload == "crunch" and p.name.startswith("crunch-"):
            p = replace(p, size=spec.size, tasks=spec.tasks)
        out.append(p)
    return out


def big_deck() -> list[Preset]:
    return cpresets.load_deck(str(FIXTURES / "big-deck.toml"))


async def shoot(app: GilvizApp, name: str, size: tuple[int, int], keys=(), until=None) -> Path:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for k in keys:
            await pilot.press(k)
            await pilot.pause()
        deadline = time.monotonic() + 300
        while until is not None and not until(app):
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: timed out")
            await pilot.pause(0.2)
        await pilot.pause(0.6)  # the chart's next turn (charts redraw at 2 Hz at most)
        path = app.save_screenshot(f"{name}.svg", str(OUT))
    return Path(path)


def replay_app(rec: Recording, deck, preset: str, finish: bool, **kw) -> GilvizApp:
    return GilvizApp(
        deck=deck,
        controller=ReplayController(rec, finish=finish),
        machine=rec.machine,
        preset=preset,
        record_results=False,
        **kw,
    )


def record_talk(path: Path) -> None:
    """One talk step run here, recorded as ``gilviz talk --record`` records it."""
    from gilviz.core.recording.recorder import Recorder

    step = replace(cpresets.get_preset("crunch-processes"), size=3_000_000, tasks=8)
    recorder = Recorder(
        path,
        settings={"command": "talk", "preset": step.name, "hz": 50.0, "fps": 4.0,
                  "terminal": [120, 40]},
    )  # fmt: skip
    app = GilvizApp(
        deck=[step],
        controller=LiveController(recorder=recorder),
        machine=Machine.here(),
        talk=True,
        record_results=False,
    )

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + 300
            while not (app.progress.state == "done" and app.screen.claim.mark):
                if time.monotonic() > deadline:
                    raise SystemExit("talk.jsonl: timed out")
                await pilot.pause(0.2)

    try:
        asyncio.run(go())
    finally:
        app.controller.shutdown()


def talk_cast(live: bool) -> list[Path]:
    from gilviz import cli

    rec, cast = OUT / "talk.jsonl", OUT / "talk.cast"
    if live or not rec.exists():
        record_talk(rec)
    code = cli.main(["export", str(rec), "--format", "asciicast", "-o", str(cast)])
    if code != 0:
        raise SystemExit(f"talk.cast: gilviz export exited {code}")
    return [rec, cast]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--live", action="store_true", help="run the presets on this machine")
    args = ap.parse_args()
    os.environ.pop("NO_COLOR", None)
    OUT.mkdir(exist_ok=True)
    crunch = Recording.load(FIXTURES / "crunch.json")
    big = Recording.load(FIXTURES / "big.json")
    deck = deck_for(crunch)
    cache = Path(tempfile.mkdtemp(prefix="gilviz-shots-")) / "reference.json"
    runs = [dict(r.summary) for r in crunch.runs]
    report.fill_speedups(runs)
    reference.record("crunch-processes", runs, cache)
    made: list[Path] = []

    def run(coro) -> None:
        made.append(asyncio.run(coro))

    if args.live:
        machine = Machine.here()

        def live(preset: str, **kw) -> GilvizApp:
            return GilvizApp(
                deck=cpresets.builtin_presets(),
                controller=LiveController(),
                machine=machine,
                preset=preset,
                reference_cache=cache,
                **kw,
            )

        done = lambda app: app.progress.state == "done"  # noqa: E731
        run(shoot(live("crunch-threads"), "dashboard", (120, 40), ["s"], until=done))
        run(shoot(live("crunch-processes"), "race", (120, 40), ["r"], until=done))
        run(shoot(live("crunch-processes", talk=True), "talk", (120, 40), until=done))
        run(shoot(live("crunch-threads"), "reference", (120, 40), ["f"]))
    else:
        run(shoot(replay_app(crunch, deck, "crunch-threads", False, autostart=True),
                  "dashboard", (120, 40)))  # fmt: skip
        run(shoot(replay_app(crunch, deck, "crunch-processes", True), "race", (120, 40), ["r"]))
        run(shoot(replay_app(crunch, deck, "crunch-processes", True, talk=True), "talk", (120, 40)))
        run(shoot(replay_app(crunch, deck, "crunch-threads", False, reference_cache=cache),
                  "reference", (120, 40), ["f"]))  # fmt: skip
    run(shoot(replay_app(crunch, deck, "crunch-threads", False, autostart=True),
              "dashboard-80x24", (80, 24)))  # fmt: skip
    run(shoot(replay_app(crunch, deck, "crunch-threads", False), "help", (120, 40),
              ["question_mark"]))  # fmt: skip
    run(shoot(replay_app(big, big_deck(), "crunch-64", False, autostart=True),
              "big-machine", (120, 40)))  # fmt: skip
    run(shoot(replay_app(big, big_deck(), "crunch-64", False, autostart=True),
              "big-machine-80x24", (80, 24)))  # fmt: skip
    os.environ["NO_COLOR"] = "1"
    run(shoot(replay_app(crunch, deck, "crunch-threads", False, autostart=True,
                         look=Look(ascii=True, color=False)),
              "ascii-no-color", (80, 24)))  # fmt: skip
    os.environ.pop("NO_COLOR", None)
    made.extend(talk_cast(args.live))
    for p in made:
        print(p.relative_to(ROOT))


if __name__ == "__main__":
    main()
