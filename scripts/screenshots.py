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

The reference picture shows the table as a user sees it once the presets have run: its
figures are the cache that ``gilviz run --preset NAME`` wrote for every built-in preset
this Python can run, run here one after the other (``--interpreters PYTHON`` adds the
interpreter-pool presets, run under that 3.14+ Python), each once the CPUs were mostly idle
for a second (waited for up to two minutes: on a shared machine, other work slows the pools
that need several cores). That cache is kept in screenshots/reference-cache.json with the
commands, how idle the CPUs were before each, the machine and the date, so that the
picture stays the same; it is measured again with ``--live`` (or when it is missing). The
app reads it from ``~/.cache/gilviz/reference.json`` under a temporary home, the place a
user's copy lives, so the footer names the path a user sees.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
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


def replay_app(
    rec: Recording, deck, preset: str, finish: bool, machine: Machine | None = None, **kw
) -> GilvizApp:
    return GilvizApp(
        deck=deck,
        controller=ReplayController(rec, finish=finish),
        machine=machine or rec.machine,
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


REFERENCE_CACHE = OUT / "reference-cache.json"


def _idle_share(window_s: float = 1.0) -> float:
    """The share of all CPUs' time that was idle over the last ``window_s`` (/proc/stat)."""

    def read() -> tuple[int, int]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields[:8])  # idle + iowait, all but guest time

    idle0, total0 = read()
    time.sleep(window_s)
    idle1, total1 = read()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet(least_idle: float = 0.85, deadline_s: float = 120) -> float:
    """Wait (up to ``deadline_s``) for a second in which the CPUs were mostly idle, so that
    a preset's pools are not slowed by other work on a shared machine; the idle share seen
    last, which the kept file records either way."""
    end = time.monotonic() + deadline_s
    while True:
        idle = _idle_share()
        if idle >= least_idle or time.monotonic() > end:
            return idle
        print(f"  waiting for a quiet machine: {idle:.0%} idle", file=sys.stderr, flush=True)


def measure_reference(interpreters: str | None) -> dict:
    """Every built-in preset this Python can run (and, given a 3.14+ Python, the
    interpreter-pool ones under it), each run as a user runs it: ``gilviz run --preset
    NAME``, which records its figures in the cache (here a temporary one). The cache as
    gilviz wrote it, with the commands, the machine and the date."""
    from gilviz.tui import deck as gdeck

    load = os.getloadavg()[0]
    home = Path(tempfile.mkdtemp(prefix="gilviz-reference-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    env.pop("NO_COLOR", None)
    commands: list[str] = []
    idle_before: list[float] = []  # the CPUs' idle share in the second before each command
    runnable = {p.name for p in gdeck.load(None)}  # the TUI's deck: what this Python runs
    for p in cpresets.builtin_presets():
        argv = ["gilviz", "run", "--preset", p.name]
        if p.name not in runnable:
            if interpreters is None:
                continue
            argv += ["--python", interpreters]
        idle = wait_for_quiet()
        print(f"{' '.join(argv)}  ({idle:.0%} idle before)", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "gilviz", *argv[1:], "--json"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if done.returncode not in (0, 1):  # 1: a preset about failure (crash) may exit 1
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
        commands.append(" ".join(argv))
        idle_before.append(round(idle, 2))
    cache = json.loads((home / "gilviz" / "reference.json").read_text())
    shutil.rmtree(home, ignore_errors=True)
    return {
        "made_by": commands,
        "idle_before": idle_before,
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "load_average": {"before": round(load, 2), "after": round(os.getloadavg()[0], 2)},
        "machine": Machine.here().to_json(),
        "cache": cache,
    }


def reference_cache(live: bool, interpreters: str | None) -> dict:
    """The kept measured cache (measured now with ``--live``, or when missing)."""
    if live or not REFERENCE_CACHE.exists():
        REFERENCE_CACHE.write_text(json.dumps(measure_reference(interpreters), indent=1) + "\n")
    return json.loads(REFERENCE_CACHE.read_text())


@contextlib.contextmanager
def user_home(cache: dict):
    """A temporary home whose ~/.cache/gilviz/reference.json holds ``cache``: gilviz reads
    it from where it reads a user's."""
    home = Path(tempfile.mkdtemp(prefix="gilviz-home-"))
    (home / ".cache" / "gilviz").mkdir(parents=True)
    (home / ".cache" / "gilviz" / "reference.json").write_text(json.dumps(cache))
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_CACHE_HOME")}
    os.environ["HOME"] = str(home)
    os.environ.pop("XDG_CACHE_HOME", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(home, ignore_errors=True)


def shoot_reference(crunch: Recording, deck, measured: dict, size=(120, 40), name="reference"):
    """The reference table as a user sees it after the presets ran, on the machine that
    measured it."""
    with user_home(measured["cache"]):
        app = replay_app(
            crunch, deck, "crunch-threads", False, machine=Machine.from_json(measured["machine"])
        )
        return asyncio.run(shoot(app, name, size, ["f"]))


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
    ap.add_argument(
        "--interpreters",
        metavar="PYTHON",
        help="a 3.14+ Python to measure the interpreter-pool presets with (reference picture)",
    )
    ap.add_argument(
        "--only", choices=["reference"], help="make this picture alone (after a UI change)"
    )
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

    measured = reference_cache(args.live, args.interpreters)
    made.append(REFERENCE_CACHE)
    made.append(shoot_reference(crunch, deck, measured))
    if args.only == "reference":
        for p in made:
            print(p.relative_to(ROOT))
        return

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
    else:
        run(shoot(replay_app(crunch, deck, "crunch-threads", False, autostart=True),
                  "dashboard", (120, 40)))  # fmt: skip
        run(shoot(replay_app(crunch, deck, "crunch-processes", True), "race", (120, 40), ["r"]))
        run(shoot(replay_app(crunch, deck, "crunch-processes", True, talk=True), "talk", (120, 40)))
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
