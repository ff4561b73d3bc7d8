"""Keys at random intervals on the talk and the dashboard, with real runs (issue #22).

A seeded schedule presses next, previous, rerun, start/stop, pool, workload and preset keys
20 ms to 1 s apart, on presets of many tiny tasks and on process pools. While it runs:
  - a begun plan or a stop never shows as queued/stopping for longer than the stop bound,
  - the screen shows what the controller reports (never a stale run) within that bound,
  - a finished talk step has its claim decided;
at a few points it lets the run settle, and at the end it quits in the middle of a run:
every process seen during the test (by pid and start time) must be gone.
The bound is asserted as a generous deadline for a condition, never as a speed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace

import psutil
import pytest

from gilviz.core.teaching.presets import builtin_presets
from gilviz.tui.controllers.live import STOP_BOUND_S
from gilviz.tui.screens.talk import TalkScreen

from .test_pilot import RUN_TIMEOUT, drive, live_app

SEED = 22
PRESSES = 100
SETTLE_EVERY = 50
# Shared, noisy machines: the UI may lag its own deadlines by a few ticks, never by this.
BOUND_S = STOP_BOUND_S + 10
FINISHED = ("done", "stopped", "failed")
TRANSIENT = ("queued", "stopping")

# (size, tasks) small enough that a step ends in about a second; tiny-tasks keeps hundreds
# of tasks (a process pool with chunksize 1 among its pools), the others use process pools.
SIZES = {
    "tiny-tasks": (100, 600),
    "shared-counter": (20_000, 4),
    "crunch-processes": (200_000, 4),
    "sleep-io": (20, 8),
    "crash": (50, 4),
}


def stress_deck():
    return [
        replace(p, size=SIZES[p.name][0], tasks=SIZES[p.name][1])
        for p in builtin_presets()
        if p.name in SIZES
    ]


def gaps(rng: random.Random):
    """Log-uniform between 20 ms and 1 s: bursts of quick keys and slow ones alike."""
    while True:
        yield 0.02 * 50 ** rng.random()


class Watch:
    """Checks the invariants between key presses and collects every process of the run."""

    def __init__(self, app, consistent: Callable[[], str | None]) -> None:
        self.app = app
        self.consistent = consistent  # None, or how the screen differs from the controller
        self.expect: list[tuple[float, Callable[[], bool], str]] = []
        self.mismatch: tuple[float, str] | None = None
        self.before = set(psutil.Process().children(recursive=True))
        self.seen: set[psutil.Process] = set()
        self.next_scan = 0.0
        self.presses = 0
        self.log: list[str] = []

    def after_press(self, key: str) -> None:
        self.presses += 1
        p = self.app.progress
        gen = p.generation
        self.log.append(f"{key}->{p.state}/{gen}")
        # Whatever the key began or stopped leaves queued/stopping within the bound.
        self.expect.append(
            (
                time.monotonic() + BOUND_S,
                lambda: (
                    self.app.progress.generation != gen or self.app.progress.state not in TRANSIENT
                ),
                f"generation {gen} out of {'/'.join(TRANSIENT)} after {key!r}",
            )
        )

    def check(self) -> None:
        now = time.monotonic()
        keep = []
        for deadline, ok, what in self.expect:
            if ok():
                continue
            if now > deadline:
                self.fail(f"{what}: still {self.app.progress.state} after {BOUND_S:g} s")
            keep.append((deadline, ok, what))
        self.expect = keep
        diff = self.consistent()
        if diff is None:
            self.mismatch = None
        elif self.mismatch is None:
            self.mismatch = (now, diff)
        elif now - self.mismatch[0] > BOUND_S:
            self.fail(f"the screen has not shown the controller's state for {BOUND_S:g} s: {diff}")
        if now >= self.next_scan:
            self.next_scan = now + 0.25
            self.seen.update(set(psutil.Process().children(recursive=True)) - self.before)

    def fail(self, message: str) -> None:
        pytest.fail(f"{message} (press {self.presses}; last keys: {' '.join(self.log[-12:])})")

    async def wait(self, pilot, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            await pilot.pause(min(0.05, left))

    async def until(self, pilot, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout:g} s waiting for {what}")
            await self.wait(pilot, 0.05)

    def left_alive(self) -> list[psutil.Process]:
        out = []
        for proc in self.seen:
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    out.append(proc)
            except psutil.Error:
                pass
        return out


def state_differs(app, shown: str) -> str | None:
    want = app.progress.state
    if shown == want or (want == "running" and shown == "starting"):
        return None
    return f"shown {shown}, controller {want}"


async def schedule(pilot, watch: Watch, keys: dict[str, int], settle) -> None:
    rng = random.Random(SEED)
    names, weights = list(keys), list(keys.values())
    gap = gaps(rng)
    for i in range(1, PRESSES + 1):
        key = rng.choices(names, weights)[0]
        await pilot.press(key)
        watch.after_press(key)
        await watch.wait(pilot, next(gap))
        if i % SETTLE_EVERY == 0:
            await settle(pilot)


def check_nothing_left(watch: Watch) -> None:
    assert watch.seen, "no process of a run was ever seen"
    deadline = time.monotonic() + BOUND_S
    while watch.left_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watch.left_alive() == []
    assert set(psutil.Process().children(recursive=True)) - watch.before == set()


def test_talk_under_random_keys_always_settles():
    app = live_app(deck=stress_deck(), preset="tiny-tasks", talk=True)

    def consistent() -> str | None:
        talk = app.screen
        if not isinstance(talk, TalkScreen):
            return f"screen {type(talk).__name__}"
        plan = app.progress.plan
        if plan is not None and talk.preset is not None and plan.preset_name != talk.preset.name:
            return f"step {talk.preset.name}, controller {plan.preset_name}"
        diff = state_differs(app, talk.status.state)
        if diff is None and talk.status.state in FINISHED:
            mark = talk.claim.mark
            ok = ("–",) if talk.status.state == "stopped" else ("✓", "✗", "?")
            if mark not in ok:
                watch.fail(f"a {talk.status.state} step with its claim undecided ({mark!r})")
        return diff

    watch = Watch(app, consistent)

    async def settle(pilot) -> None:
        await watch.until(
            pilot,
            lambda: app.progress.finished and consistent() is None,
            RUN_TIMEOUT + BOUND_S,
            "the step to finish",
        )

    async def script(pilot):
        keys = {"n": 5, "space": 1, "p": 3, "left": 1, "r": 4, "s": 4, "plus": 1}
        await schedule(pilot, watch, keys, settle)
        await settle(pilot)
        await pilot.press("r")  # quit in the middle of a run
        await watch.wait(pilot, 0.3)
        await pilot.press("q")

    drive(app, script)
    check_nothing_left(watch)


def test_dashboard_under_random_keys_always_settles():
    app = live_app(deck=stress_deck(), preset="tiny-tasks")

    def consistent() -> str | None:
        dash = app.screen
        if dash._other_settings(app.progress) and not app.progress.active:
            # [ or ] opened another preset: the run that ended was of other settings
            shown = dash.status.state
            return None if shown == "idle" else f"shown {shown} for the run before [ or ]"
        return state_differs(app, dash.status.state)

    watch = Watch(app, consistent)

    async def settle(pilot) -> None:
        if app.progress.active:
            await pilot.press("s")
            watch.after_press("s")
        await watch.until(
            pilot,
            lambda: app.progress.state in FINISHED + ("idle",) and consistent() is None,
            BOUND_S,
            "the stop to settle",
        )

    async def script(pilot):
        keys = {
            "s": 8,
            "p": 3,
            "w": 1,
            "right_square_bracket": 2,
            "left_square_bracket": 1,
            "plus": 1,
            "minus": 1,
            "t": 1,
            "less_than_sign": 1,
        }
        await schedule(pilot, watch, keys, settle)
        await settle(pilot)
        if not app.progress.active:
            await pilot.press("s")  # quit in the middle of a run
        await watch.wait(pilot, 0.3)
        await pilot.press("q")

    drive(app, script)
    check_nothing_left(watch)
