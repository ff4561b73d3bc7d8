"""Start-up: what the first frame waits for. The chart library is imported after it, in the
background (gilviz.tui.lazy), and without the documentation objects plotext builds.

Each check runs in a fresh interpreter: this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.helpers import ROOT


def run_py(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_dashboard_draws_its_first_frame_before_plotext_is_imported():
    """``gilviz crunch --start``'s own launch path, headless: at the first frame plotext is
    not imported, and the app has asked for it to be imported once, after that frame."""
    got = run_py(
        """
        import gc, json, sys
        from textual.app import App
        import gilviz.tui.app as app_mod
        import gilviz.tui.launch as launch
        from gilviz.cli import build_workload_parser

        seen = {"warm_up": 0}
        def after_first_frame():  # the app's call, recorded: nothing is imported
            seen["warm_up"] += 1
            seen["plotext at warm-up"] = "plotext" in sys.modules
            seen["run at warm-up"] = app_mod.GilvizApp._instance.controller._seq is not None
        app_mod.after_first_frame = after_first_frame
        orig_init = app_mod.GilvizApp.__init__
        def init(self, *a, **kw):
            orig_init(self, *a, **kw)
            app_mod.GilvizApp._instance = self
        app_mod.GilvizApp.__init__ = init
        launch._need_screen = lambda hint: None

        async def first_frame(pilot):
            await pilot.pause()
            seen["plotext at first frame"] = "plotext" in sys.modules
            seen["collector at first frame"] = gc.isenabled()
            seen["drawn"] = pilot.app.screen.__class__.__name__
            pilot.app.exit(0)

        def run(self, **kw):
            return App.run(self, headless=True, size=(120, 40), auto_pilot=first_frame)
        app_mod.GilvizApp.run = run
        args = build_workload_parser().parse_args(["crunch", "--workers", "2", "--tasks", "1"])
        launch.run_workload(args, "crunch", "thread", 2, 1, 1000, start=True)
        seen["collector after"] = gc.isenabled()
        print(json.dumps(seen))
        """
    )
    assert got["drawn"] == "DashboardScreen"
    assert got["plotext at first frame"] is False
    # start-up runs without collections; the launcher turns them back on whatever happens
    # (here the recorded after_first_frame does not)
    assert got["collector at first frame"] is False
    assert got["collector after"] is True
    assert got["warm_up"] == 1
    assert got["plotext at warm-up"] is False
    assert got["run at warm-up"] is False  # --start: the run begins after it


def test_plotext_is_imported_without_its_documentation_and_draws_the_same():
    code = """
        import json, sys
        {prelude}
        from gilviz.tui.widgets.throughput import plot_runs
        xs = [i * 0.5 for i in range(21)]
        series = [(xs, [(i * 7) % 11 for i in range(21)]), (xs, [i % 5 for i in range(21)])]
        chart = [plot_runs(series, 10.0, 12, 60, 8, a)[0] for a in (False, True)]
        import plotext
        print(json.dumps({{"chart": chart, "doc": plotext.doc is None,
                          "stub left": "plotext._doc.doc" in sys.modules}}))
        """
    lazy = run_py(
        code.format(prelude="from gilviz.tui.lazy import import_plotext; import_plotext()")
    )
    whole = run_py(code.format(prelude="import plotext"))
    assert lazy["doc"] is True and lazy["stub left"] is False
    assert whole["doc"] is False  # the plain import builds them
    assert lazy["chart"] == whole["chart"]


def test_after_the_first_frame_start_up_is_frozen_and_plotext_imported_once_in_background():
    got = run_py(
        """
        import gc, json, sys
        from gilviz.tui import lazy
        before = gc.get_freeze_count()
        gc.disable()  # as the launcher leaves it
        t1 = lazy.after_first_frame()
        t2 = lazy.warm_up()
        t1.join(60)
        print(json.dumps({"same": t1 is t2, "name": t1.name, "daemon": t1.daemon,
                          "plotext": "plotext" in sys.modules,
                          "frozen": gc.get_freeze_count() > before,
                          "collecting": gc.isenabled()}))
        """
    )
    assert got == {
        "same": True,
        "name": "gilviz-imports",
        "daemon": True,
        "plotext": True,
        "frozen": True,
        "collecting": True,
    }
