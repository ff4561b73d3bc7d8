"""Widgets and helpers without a running app: layouts, glyphs, rates, name clashes."""

from __future__ import annotations

import inspect
import re

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widget import Widget

import gilviz.tui.app as app_mod
from gilviz.core.measuring.samples import STATES, CoreSample
from gilviz.core.model import CoreView, RunModel
from gilviz.core.running.spec import build_spec
from gilviz.tui.controllers.fixtures import snapshot_from_json, snapshot_to_json
from gilviz.tui.machine import Machine
from gilviz.tui.style import Look
from gilviz.tui.widgets.base import Line, fit
from gilviz.tui.widgets.cores import CoresPanel
from gilviz.tui.widgets.gil import ideal_parallelism, running_now, sparkline
from gilviz.tui.widgets.throughput import ThroughputPanel
from gilviz.tui.widgets.timelines import TimelinesPanel

from .conftest import recording


def machine(n: int, quota: float | None = None) -> Machine:
    return Machine(n, tuple(range(n)), quota, n if quota is None else int(quota), "CPython x")


def text(lines) -> list[str]:
    return ["".join(t for t, _ in (ln.key() if isinstance(ln, Line) else ln)) for ln in lines]


@pytest.mark.parametrize("n,width,max_rows", [(2, 78, 1), (16, 78, 2), (128, 78, 1), (128, 118, 8)])
def test_cores_panel_draws_every_core(n, width, max_rows):
    panel = CoresPanel(machine(n), max_rows=max_rows)
    lines = text(panel.build(width, panel.wanted_height(width)))
    assert len(lines) == panel.wanted_height(width)
    assert all(len(ln) <= width for ln in lines)
    grid, a, _ = panel._grid(n, width)
    if grid == "bars":
        labels = [int(x) for ln in lines[1:] for x in re.findall(r"(?:^|\s)(\d+) ", ln)]
        assert sorted(labels) == list(range(n))
    else:
        cells = sum(
            len(ln.split(" ", 1)[1]) if ln.strip()[0].isdigit() else 0 for ln in lines[1:-1]
        )
        assert cells >= n - len(lines)  # one cell per core, label aside
        assert "more cores not drawn" not in lines[-1]


def test_cores_panel_says_when_cores_do_not_fit():
    panel = CoresPanel(machine(512))
    lines = text(panel.build(40, 4))
    assert "more cores not drawn" in lines[-1]


def test_cores_panel_states_quota_and_na_before_any_run():
    panel = CoresPanel(machine(4, quota=1.5))
    lines = text(panel.build(100, 3))
    assert "quota 1.5 CPUs" in lines[0] and "n/a" in lines[0]
    assert "n/a" in lines[1]


def test_cores_busy_is_a_mean_over_the_stated_window():
    panel = CoresPanel(machine(1), window_s=1.0, sample_hz=4)
    core = CoreView(0, 1.0, None, (0.0,) * 10 + (1.0, 0.0, 1.0, 0.0))
    assert panel._busy(core) == 0.5
    # cores sampled ten times a second while threads are at 50 Hz: a second is 10 of them
    panel = CoresPanel(machine(1), window_s=1.0, sample_hz=50)
    model = RunModel(build_spec("crunch", pool="thread"), "/proc sampling", [0])
    for i in range(1, 4):
        model.on_tick([], CoreSample(t_ns=i * 100_000_000, dt_ns=100_000_000, busy={0: 1.0}))
    panel.snapshot = model.snapshot()
    assert panel.snapshot.core_hz == pytest.approx(10.0)
    core = CoreView(0, 1.0, None, (0.0,) * 10 + (1.0,) * 5 + (0.0,) * 5)
    assert panel._busy(core) == 0.5


def test_ascii_glyphs_differ_for_every_state():
    look = Look(ascii=True)
    glyphs = [look.state_cell(s)[0] for s in (*STATES, "n/a")]
    assert len(set(glyphs)) == len(glyphs)
    assert all(g.isascii() for g in glyphs)


def test_colour_cells_differ_by_colour():
    look = Look()
    styles = [look.state_cell(s)[1] for s in STATES]
    assert len(set(styles)) == len(styles)


def test_timelines_scroll_and_say_which_workers_they_show():
    snap = recording("big").runs[1].live
    panel = TimelinesPanel()
    panel.snapshot = snap
    lines = text(panel.build(118, 20))
    assert lines[-1].startswith("showing w0–w16 of 64")
    assert lines[2].startswith("w0 ")
    assert sum(1 for ln in lines if re.match(r"w\d+ ", ln)) == 17


def test_timeline_row_is_right_aligned_newest_last():
    snap = recording("crunch").runs[1].live
    panel = TimelinesPanel(look=Look(ascii=True))
    panel.snapshot = snap
    row = text(panel.build(100, 10))[2]
    w0 = snap.workers[0]
    tw, _ = panel._columns(100)
    cells = "".join(Look(ascii=True).state_cell(s)[0] for s in w0.timeline[-tw:])
    assert row[5 : 5 + tw].endswith(cells)


def test_gil_helpers():
    m = machine(2)
    assert ideal_parallelism("thread", 4, m)[0] == 1
    assert ideal_parallelism("process", 4, m)[0] == 2
    assert ideal_parallelism("process", 1, m)[0] == 1
    assert ideal_parallelism("serial", 8, m)[0] == 1
    assert sparkline([1, 2, 4], 10, "abcde") == "bce"
    snap = recording("crunch").runs[1].live
    assert running_now(snap, 10) is not None


def test_throughput_chart_is_redrawn_at_most_at_chart_rate_and_never_on_a_timer_of_its_own():
    """A chart too soon waits for the screen's next tick (which shows every panel at the
    frame rate) rather than a timer of its own, which would send a frame for it alone."""
    now = [100.0]  # the panel's clock, stepped by hand (a chart takes what it takes)
    panel = ThroughputPanel(chart_hz=2, clock=lambda: now[0])
    timers = []
    panel.set_timer = lambda *a, **kw: timers.append(a)  # type: ignore[method-assign]
    snap = recording("big").runs[1].live
    panel.show(snap)
    panel._chart_lines(60, 8)
    assert panel.charts_drawn == 1

    def changed(i):
        return snap.__class__(**{**snap.__dict__, "tasks_over_time": (*snap.tasks_over_time, i)})

    # the data changes every call, 20 times within 0.5 s: still at most 2 redraws a second
    for i in range(20):
        now[0] += 0.02
        panel.show(changed(i))
        panel._chart_lines(60, 8)
    assert panel.charts_drawn == 1
    now[0] += 0.09  # 0.49 s after the first chart: a tick a few ms early still draws it
    panel.show(changed(99))
    panel._chart_lines(60, 8)
    assert panel.charts_drawn == 2
    now[0] += 0.3
    panel.show(changed(100))
    panel._chart_lines(60, 8)  # new data on the next tick, too soon: the last chart is kept
    assert panel.charts_drawn == 2
    assert timers == []


def test_fit_drops_parts_that_do_not_fit():
    assert fit(["a", "bb", "ccc"], 6) == "a · bb"
    assert fit(["abcdefgh"], 5) == "abcd…"


def test_snapshot_json_round_trip():
    snap = recording("crunch").runs[2].final
    assert snapshot_from_json(snapshot_to_json(snap)) == snap


def test_no_attribute_shadows_textual():
    """Textual keeps state in attributes such as _closing, workers, size, _layout: a
    subclass that reuses one breaks the framework in odd ways (an exit that hangs)."""
    import gilviz.tui.screens.dashboard as d
    import gilviz.tui.screens.race as r
    import gilviz.tui.screens.reference as rf
    import gilviz.tui.screens.talk as t
    import gilviz.tui.widgets.base as b
    import gilviz.tui.widgets.cores as c
    import gilviz.tui.widgets.gil as g
    import gilviz.tui.widgets.info as i
    import gilviz.tui.widgets.mix as mx
    import gilviz.tui.widgets.throughput as th
    import gilviz.tui.widgets.timelines as tl

    allowed = {
        "compose",
        "on_mount",
        "on_resize",
        "on_unmount",
        "render_line",
        "get_content_height",
        "get_system_commands",
        "action_quit",
        "action_help",
        "discover",
        "search",
        "BINDINGS",
        "DEFAULT_CSS",
        "CSS_PATH",
        "TITLE",
        "COMMANDS",
        "on_screen_resume",
        "on_screen_suspend",
        "check_action",
        "on_mouse_scroll_down",
        "on_mouse_scroll_up",
        "is_mounted",  # read, never set
    }
    framework = set()
    for base in (App, Screen, Widget):
        framework |= set(dir(base))
        src = inspect.getsource(inspect.getmodule(base))
        framework |= set(re.findall(r"self\.(_[A-Za-z_]+)\s*[:=]", src))
    clashes = []
    for mod in (app_mod, d, r, rf, t, b, c, g, i, mx, th, tl):
        src = inspect.getsource(mod)
        mine = set(re.findall(r"self\.([A-Za-z_]+)\s*[:=][^=]", src))
        mine |= set(re.findall(r"def ([A-Za-z_]+)\(self", src))
        clashes += [
            f"{mod.__name__}.{a}"
            for a in mine
            if a in framework and a not in allowed and not a.startswith("__")
        ]
    assert clashes == []


def test_low_bandwidth_default_over_ssh():
    from types import SimpleNamespace

    from gilviz.tui.launch import default_fps

    plain = SimpleNamespace(low_bandwidth=False)
    assert default_fps(plain, {}) == 4.0
    assert default_fps(plain, {"SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}) == 1.0
    assert default_fps(SimpleNamespace(low_bandwidth=True), {}) == 1.0


def test_line_runs_keys_and_strips():
    """The lines every panel is drawn from: runs of one style merge, a key is cut to the
    width, and its strip holds the same segments as rich would make, padded to the width."""
    from rich.segment import Segment
    from rich.style import Style
    from textual.strip import Strip

    from gilviz.tui.widgets.base import Line, LinesWidget, crop_key

    a, b = Style(bold=True), Style(italic=True)
    line = Line().add("ab", a).add("", b).add("c", a).add("d", b).add("e").add("f")
    assert line.key() == (("abc", a), ("d", b), ("ef", None))
    assert line.runs == [("abc", a), ("d", b), ("ef", None)]  # the last run too
    assert Line().add("x", a).runs[0][0] == "x"
    assert line.length == 6
    assert Line().key() == () and Line().add("x").key() == (("x", None),)
    for width in range(0, 8):
        assert line.fitted(width) == crop_key(line.key(), width)
    assert line.fitted(4) == (("abc", a), ("d", b))
    strip = LinesWidget._strip(line.key(), 8)
    want = Strip([Segment("abc", a), Segment("d", b), Segment("ef"), Segment("  ")], 8)
    assert list(strip) == list(want) and strip.cell_length == 8
    assert all(type(seg) is Segment for seg in strip)


def test_crop_key_cuts_to_the_width_and_keeps_a_key_that_fits():
    import random

    from gilviz.tui.widgets.base import crop_key

    def reference(key, width):
        out, left = [], width
        for text, style in key:
            if left <= 0:
                break
            out.append((text[:left], style))
            left -= len(text[:left])
        return tuple(out)

    rng = random.Random(7)
    for _ in range(5000):
        key = tuple(
            ("x" * rng.randint(0, 5), rng.choice([None, "a", "b"]))
            for _ in range(rng.randint(0, 6))
        )
        width = rng.randint(0, 20)
        got = crop_key(key, width)
        assert got == reference(key, width), (key, width)
        if got == key:
            assert got is key  # nothing to cut: no copy
