"""Many workers: 64 threads and 32 processes run under gilviz, each seen and sampled; and
the dashboard fed a 64-worker snapshot lets every worker row be scrolled into view.

The runs sleep (1.5 ms tasks), so 2 shared cores cope; no timing thresholds.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from gilviz.core import report
from gilviz.core.running.session import run_blocking
from gilviz.core.running.spec import build_spec
from gilviz.core.teaching.presets import PoolChoice, Preset
from gilviz.tui.app import GilvizApp
from gilviz.tui.controllers.fixtures import Recording, ReplayController
from gilviz.tui.style import Look

BIG = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "big.json"
ROW = re.compile(r"^w(\d+) ")


@pytest.mark.parametrize("pool,workers", [("thread", 64), ("process", 32)])
def test_many_workers_are_all_seen_and_sampled(pool, workers):
    spec = build_spec("sleep", pool=pool, workers=workers, tasks=workers, size=1500)
    run = run_blocking(spec, sample_hz=50)
    s = report.run_summary(run.model)
    assert s["error"] is None
    assert s["tasks_done"] == s["tasks"] == workers
    assert sorted(w["id"] for w in s["workers"]) == list(range(workers))
    assert sum(w["tasks"] for w in s["workers"]) == workers
    assert s["gil"]["sample_hz"] is not None and s["gil"]["sample_hz"] > 0
    assert s["gil"]["samples"] > 0
    for w in s["workers"]:
        states = w["states"]
        assert all(v is not None for v in states.values()), (w["id"], states)
        assert sum(states.values()) == pytest.approx(1.0, abs=1e-3), (w["id"], states)


def _big_deck() -> list[Preset]:
    return [
        Preset(
            name="crunch-64",
            title="64 workers on a 128-core machine (synthetic data)",
            workload="crunch",
            teaches="GIL",
            narration=("A layout check at scale: every worker reachable.",),
            pools=(PoolChoice("thread", workers=64),),
            size=10_000_000,
            tasks=512,
        )
    ]


def _shown_rows(panel) -> set[int]:
    out = set()
    for y in range(panel.content_size.height):
        m = ROW.match(panel.render_line(y).text)
        if m:
            out.add(int(m[1]))
    return out


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_worker_row_is_reachable_by_scrolling(size):
    rec = Recording.load(BIG)
    expected = {w.wid for w in rec.runs[1].live.workers}
    assert len(expected) == 64
    app = GilvizApp(
        deck=_big_deck(),
        controller=ReplayController(rec),
        machine=rec.machine,
        look=Look(),
        preset="crunch-64",
        autostart=True,
        record_results=False,
    )

    async def main() -> set[int]:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            panel = app.screen.panels.timelines
            seen = _shown_rows(panel)
            assert seen, "no worker rows on screen"
            for _ in range(200):
                if expected <= seen:
                    break
                await pilot.press("down")
                await pilot.pause()
                seen |= _shown_rows(panel)
            # and back to the top
            for _ in range(8):  # 10 rows a page
                await pilot.press("pageup")
            await pilot.pause()
            assert 0 in _shown_rows(panel)
            return seen

    seen = asyncio.run(main())
    assert seen == expected, sorted(expected - seen)
