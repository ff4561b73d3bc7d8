"""The dashboard's figures and panels tell the truth at a glance (issue 18: #1, #2, #4, #5,
#7, #22): the run's own rate after it ends, a chart whose axes say their units, a failed run
that says so, a heartbeat that says what it measures, an ideal that says what it is, no
frame drawn for a size the panel no longer has, and no empty quarter."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest

from gilviz.core.model import SERIES_STEP_NS, RunModel, RunSnapshot
from gilviz.core.protocol import End, RunStatus, decode
from gilviz.core.running.spec import build_spec
from gilviz.tui.app import GilvizApp
from gilviz.tui.controllers.base import Progress
from gilviz.tui.controllers.fixtures import RecordedRun, Recording, ReplayController
from gilviz.tui.machine import Machine
from gilviz.tui.screens.live import LiveRunScreen
from gilviz.tui.style import ERROR, Look
from gilviz.tui.widgets.base import Line
from gilviz.tui.widgets.gil import GilPanel, ideal_parallelism
from gilviz.tui.widgets.info import StatusLine
from gilviz.tui.widgets.mix import StateMixPanel
from gilviz.tui.widgets.throughput import RUN_STYLES, ThroughputPanel

from .conftest import load_deck, recording, replay_app

MS = 1_000_000
SIZES = [(80, 24), (120, 40)]


def text(lines) -> list[str]:
    return ["".join(t for t, _ in (ln.key() if isinstance(ln, Line) else ln)) for ln in lines]


def machine(n: int) -> Machine:
    return Machine(n, tuple(range(n)), None, n, "CPython x")


def screen_lines(app: GilvizApp) -> list[str]:
    """What the terminal shows, line by line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def finished_run(
    ends_ms: tuple[int, ...] = (3400, 3400, 3410, 3420), wall_s: float = 3.46
) -> RunSnapshot:
    """Four threads whose tasks all end together near the end, as crunch's do."""
    spec = build_spec("crunch", pool="thread", workers=4, tasks=len(ends_ms))
    m = RunModel(spec, "/proc sampling", [0, 1], started_ns=0)
    for wid in range(4):
        m.on_message(decode(["worker", wid, 100, 101 + wid]))
    for task, t1 in enumerate(ends_ms):
        m.on_message(decode(["e", task % 4, task, 0, t1 * MS, 800 * MS, True]))
    for i in range(1, 8):  # the series' last steps saw no task end: the old headline's 0.0
        m.on_tick([], None, now=i * SERIES_STEP_NS)
    m.on_message(End(wall_s=wall_s, tasks_done=len(ends_ms)))
    m.finish(RunStatus.DONE, now=int(wall_s * 1e9) + 50 * MS)
    return m.snapshot()


# --- #1: throughput -------------------------------------------------------------------


def test_after_a_run_the_headline_is_the_runs_own_rate():
    snap = finished_run()
    panel = ThroughputPanel()
    panel.show(snap)
    lines = text(panel.build(60, 14))
    assert lines[0].startswith("throughput 1.16 tasks/s")  # 4 tasks / 3.46 s
    assert "4 tasks / 3.46 s wall, whole run" in " ".join(lines[:2])
    assert not any("n/a" in ln or "no run yet" in ln for ln in lines)


@pytest.mark.parametrize("width", [38, 58, 80])
def test_the_chart_starts_at_zero_and_every_axis_says_its_unit(width):
    panel = ThroughputPanel()
    panel.show(finished_run())
    lines = text(panel.build(width, 12))
    chart = lines[next(i for i, ln in enumerate(lines) if ln.startswith("tasks done")) :]
    assert "┤" in chart[1]  # the y axis's unit is right above it
    assert not any(re.search(r"-\d", ln) for ln in chart)  # nothing below zero
    y_labels = [ln.split("┤")[0].strip() for ln in chart if "┤" in ln]
    assert y_labels[0] == "4" and y_labels[-1] == "0"
    axis = next(ln for ln in chart if "└" in ln)
    ticks = [i for i, ch in enumerate(axis) if ch == "┬"]
    gaps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(ticks) >= 2 and max(gaps) - min(gaps) <= 1  # even, to the cell
    labels = chart[chart.index(axis) + 1]
    assert labels.split()[:2] == ["0", "s"]  # 0 is there, with its unit
    assert all(t == "s" for t in labels.split()[1::2])


def test_a_race_charts_every_pool_from_its_own_start():
    rec = recording("crunch")
    runs = tuple((r.spec.pool, r.final) for r in rec.runs)
    panel = ThroughputPanel()
    panel.show(runs[-1][1], runs)
    keys = [ln.key() if isinstance(ln, Line) else ln for ln in panel.build(100, 20)]
    lines = ["".join(t for t, _ in key) for key in keys]
    plot = next(i for i, ln in enumerate(lines) if "┤" in ln)
    legend = " ".join(lines[1:plot])  # on as many lines as it needs
    for pool, snap in runs:
        assert f"{pool} {snap.elapsed_s:.2f} s" in legend
    drawn = {style for key in keys[plot:] for t, style in key if "\u2801" <= t[0] <= "\u28ff"}
    assert drawn == set(RUN_STYLES[:3])  # one colour per pool, all three drawn


def test_a_watched_program_has_no_task_chart_and_says_why():
    snap = replace(finished_run(), pool="watch")
    panel = ThroughputPanel()
    panel.show(snap)
    lines = text(panel.build(60, 10))
    assert "n/a: a watched program sends no task events" in lines[0]


# --- #2: a failed run says failed -------------------------------------------------------

CRASH = (
    "the runner process was killed by SIGSEGV (a thread pool shares one process: one "
    "crashing task kills every worker)"
)


def failed_recording() -> Recording:
    rec = recording("crunch")
    runs = [
        RecordedRun(
            r.spec,
            r.live,
            replace(r.final, status=RunStatus.FAILED, error=CRASH, tasks_done=0),
            {**r.summary, "error": CRASH},
        )
        for r in rec.runs
    ]
    return Recording(rec.machine, runs)


def test_a_failed_run_is_failed_whatever_the_plan_did():
    snap = replace(finished_run(), status=RunStatus.FAILED, error=CRASH)
    state, error = LiveRunScreen.run_state(Progress(snapshot=snap, state="done"))
    assert (state, error) == ("failed", CRASH)
    ok = finished_run()
    assert LiveRunScreen.run_state(Progress(snapshot=ok, state="done")) == ("done", None)


def test_the_whole_error_is_wrapped_not_cut():
    status = StatusLine()
    status.state, status.error = "failed", CRASH
    lines = text(status.build(50, status.wanted_height(50)))
    assert " ".join(ln.strip() for ln in lines[1:]) == "error: " + CRASH
    assert all(len(ln) <= 50 for ln in lines)


@pytest.mark.parametrize("screen", ["dashboard", "race", "talk"])
def test_dashboard_race_and_talk_say_failed_in_the_failure_colour(screen):
    app = GilvizApp(
        deck=load_deck(),
        controller=ReplayController(failed_recording(), finish=True),
        machine=recording("crunch").machine,
        look=Look(),
        preset="crunch-threads",
        talk=screen == "talk",
        autostart=screen != "race",
        record_results=False,
    )

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            if screen == "race":
                await pilot.press("r")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = app.screen.status
            assert status.state == "failed"
            first = status._keys[0]
            assert first[0][0].startswith("● failed") and first[0][1] == ERROR
            shown = " ".join(" ".join(screen_lines(app)).split())
            assert CRASH in shown  # every word of it, in order, on screen

    asyncio.run(main())


# --- #4: heartbeat ----------------------------------------------------------------------


def test_the_heartbeat_says_what_it_measures_and_its_max_is_the_runs():
    spec = build_spec("crunch", pool="thread", workers=1, tasks=1)
    m = RunModel(spec, "/proc sampling", [0], started_ns=0)
    for i in range(10):
        m.on_message(decode(["hb", 100, [1000] * 9 + [50_000]]))
        m.on_tick([], None, now=(i + 1) * SERIES_STEP_NS)
    m.finish(RunStatus.DONE, now=11 * SERIES_STEP_NS)
    snap = m.snapshot()
    panel = GilPanel(machine(2))
    panel.snapshot = snap
    lines = " ".join(ln.strip() for ln in text(panel.build(58, 20)))
    assert "how late a 1 ms sleep wakes up" in lines and "I/O thread" in lines
    top = re.search(r"max (\d+\.?\d*) ms", lines)
    p99 = re.search(r"p99 (\d+\.?\d*) ms", lines)
    assert top and p99 and float(top.group(1)) >= float(p99.group(1))
    assert "worst per 0.5 s" in lines


# --- #5: parallelism --------------------------------------------------------------------


def test_the_ideal_is_said_per_pool_kind():
    m = machine(2)
    thread = ideal_parallelism("thread", 4, m)
    assert (thread.value, thread.bar) == (1, 2) and "one GIL" in thread.why
    process = ideal_parallelism("process", 4, m)
    assert (process.value, process.bar) == (2, 2) and "min(workers, cores)" in process.why
    assert ideal_parallelism("process", 1, m).value == 1
    assert ideal_parallelism("serial", 8, m).value == 1
    assert ideal_parallelism("interpreter", 4, m).value == 2
    assert ideal_parallelism("thread", 4, m, gil=False).value == 2  # a free-threaded runner


def _parallelism_lines(pool: str, workers: int, par: float) -> list[str]:
    snap = replace(finished_run(), pool=pool, workers_requested=workers, parallelism=par)
    panel = GilPanel(machine(2))
    panel.snapshot = snap
    lines = text(panel.build(58, 20))
    i = next(i for i, ln in enumerate(lines) if ln.startswith("parallelism"))
    return [lines[i], " ".join(ln.strip() for ln in lines[i + 1 :])]


def test_threads_above_one_gil_are_drawn_past_its_mark_and_say_why():
    head, method = _parallelism_lines("thread", 4, 1.12)
    assert "1.12 of ideal 1" in head
    assert "│" in head  # the one-GIL mark inside a bar that runs on to the cores
    assert "above 1:" in method and "releases the GIL" in method
    head, method = _parallelism_lines("thread", 4, 0.97)
    assert "above" not in method and "threads share one GIL" in method


def test_a_short_panel_still_says_why_a_figure_is_above_its_ideal():
    snap = replace(finished_run(), pool="thread", workers_requested=4, parallelism=1.12)
    panel = GilPanel(machine(2))
    panel.snapshot = snap
    for height in (7, 8, 9):
        lines = text(panel.build(38, height))
        assert len(lines) <= height
        i = next(i for i, ln in enumerate(lines) if ln.startswith("parallelism"))
        assert "above 1" in " ".join(lines[i + 1 :]), lines


def test_a_bar_never_passes_its_ideal_unsaid():
    head, method = _parallelism_lines("process", 4, 2.3)
    assert "2.30 of ideal 2" in head and head.rstrip().endswith("+")
    assert "above 2:" in method
    head, method = _parallelism_lines("process", 4, 1.9)
    assert not head.rstrip().endswith("+") and "above" not in method
    assert "min(workers, cores) = 2 cores" in method


# --- #7: a frame is drawn for the size it is shown at -----------------------------------


def test_worker_rows_are_drawn_for_the_height_the_panel_has():
    """A new run's workers make the timelines taller: no frame may show the lines built
    for the old height (one row, blank below, "showing w0–w0 of 10")."""
    app = replay_app(autostart=False)
    shown: list[tuple[int, int, str]] = []

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            panels = app.screen.panels
            timelines = panels.timelines
            render = timelines.render_line

            def spy(y: int):
                strip = render(y)
                shown.append(
                    (timelines.content_size.height, timelines._built_size.height, strip.text)
                )
                return strip

            timelines.render_line = spy
            live = recording("crunch").runs[1].live
            ten = replace(
                live, workers=tuple(replace(live.workers[i % 4], wid=i) for i in range(10))
            )
            panels.show(replace(live, workers=()))
            await pilot.pause()
            shown.clear()
            panels.show(ten)
            for _ in range(4):
                await pilot.pause()

    asyncio.run(main())
    assert shown
    assert [s for s in shown if s[0] != s[1]] == []
    assert not any("w0–w0 of 10" in s[2] for s in shown)


# --- #22: no empty quarter --------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("finish", [False, True], ids=["live", "finished"])
def test_the_lower_left_quarter_is_not_empty(size, finish):
    app = replay_app(finish=finish)
    width, height = size

    async def main() -> list[str]:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            return screen_lines(app)

    lines = asyncio.run(main())
    quarter = [ln[: width // 2] for ln in lines[height // 2 : height - 1]]  # footer aside
    blank = [i for i, ln in enumerate(quarter) if not ln.strip()]
    assert len(blank) <= 1, "\n".join(quarter)
    if height >= 40:
        assert any(ln.lstrip().startswith("state mix") for ln in quarter)


def test_the_state_mix_stacks_each_columns_shares():
    snap = recording("crunch").runs[1].final  # threads: mostly GIL wait
    panel = StateMixPanel(look=Look(ascii=True))
    panel.snapshot = snap
    lines = text(panel.build(60, 12))
    assert lines[0].startswith("state mix")
    assert lines[1].startswith("100%┤") and lines[-3].startswith("  0%┤")
    assert lines[-1].split()[:2] == ["0", "s"] and lines[-1].endswith(" s")
    body = "".join(ln[5:] for ln in lines[1:-2])
    assert body.count("G") > body.count("R") > 0  # GIL wait over running, as measured
    assert snap.states["gil_wait"] > snap.states["running"]


def test_the_state_mix_is_redrawn_at_the_chart_rate_and_at_once_for_a_new_run():
    """A whole-run chart: new buckets every frame are drawn at most chart_hz times a
    second; another run, a new status or the first samples are drawn at once."""
    now = [50.0]
    panel = StateMixPanel(chart_hz=1.0, clock=lambda: now[0], look=Look(ascii=True))
    drawn = []
    panel.redraw = lambda force=False: drawn.append(panel.snapshot)  # type: ignore[method-assign]
    final = recording("crunch").runs[1].final
    growing = [replace(final, status=RunStatus.RUNNING, state_time=final.state_time[:n])
               for n in range(1, len(final.state_time))]  # fmt: skip

    panel.show(None)
    panel.show(growing[0])  # the first samples: at once
    for snap in growing[1:8]:  # 7 frames within 0.7 s: not again
        now[0] += 0.1
        panel.show(snap)
    assert drawn == [None, growing[0]]
    assert panel.snapshot is growing[7]  # kept: a resize draws the latest
    now[0] += 0.28  # 0.98 s after the last picture: its turn (a tick may land a bit early)
    panel.show(growing[8])
    assert drawn[-1] is growing[8]
    panel.show(final)  # the run ended: at once
    assert drawn[-1] is final
    other = replace(growing[0], pool="process")  # the next run of a race: at once
    panel.show(other)
    assert drawn[-1] is other and len(drawn) == 5
