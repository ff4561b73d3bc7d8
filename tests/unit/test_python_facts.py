"""How gilviz names the interpreter behind its figures, and the pools it lacks: the run's
Python from its runner's Hello, a one-line reason for each missing pool, presets cut to
what a Python can run, and a pool's start-up in words."""

from __future__ import annotations

import concurrent.futures
import platform

from gilviz.core import report
from gilviz.core.measuring.machine import pools_unavailable_line
from gilviz.core.model import RunModel
from gilviz.core.protocol import End, Hello, python_short
from gilviz.core.running.spec import build_spec
from gilviz.core.teaching import presets
from gilviz.tui import deck

PY314 = {"version": "3.14.10", "implementation": "CPython", "gil_enabled": True, "build": "GCC"}
LACKS = {
    "serial": None,
    "thread": None,
    "process": None,
    "interpreter": "Python 3.11.7 has no concurrent.futures.InterpreterPoolExecutor",
    "free-threaded": "not a free-threaded build",
}


def test_a_snapshot_carries_the_runners_python_and_start_up():
    m = RunModel(build_spec("crunch", pool="process", workers=2, tasks=2), "none")
    assert m.snapshot().python is None  # nothing said yet: no guess
    m.on_message(Hello(123, "/usr/bin/python3.14", PY314))
    startup = {"pool_start_s": 0.1, "first_task_s": 0.5, "steady_task_s": None}
    m.on_message(End(1.0, 2, startup=startup))
    snap = m.snapshot()
    assert snap.python == PY314 and snap.startup == startup
    assert report.snapshot_python(snap) == "CPython 3.14.10 · GIL"
    assert report.snapshot_startup(snap) == (
        "process start-up: pool start 0.100 s, first task 0.500 s, then n/a a task (median)"
    )
    assert report.run_summary(m)["python"] == PY314


def test_python_short_says_how_the_gil_stands():
    assert python_short(None) == "Python ?"
    assert python_short({**PY314, "gil_enabled": False}) == "CPython 3.14.10 · free-threaded"
    ft_on = {**PY314, "build": "GCC, free-threaded"}
    assert python_short(ft_on) == "CPython 3.14.10 · free-threaded build, GIL on"


def test_missing_pools_in_one_line_with_what_they_need():
    line = pools_unavailable_line(["serial", "interpreter"], LACKS, "CPython 3.11.7")
    assert line == "interpreter: needs Python 3.14+ (this is CPython 3.11.7)"
    both = pools_unavailable_line(["interpreter", "free-threaded"], LACKS, "CPython 3.11.7")
    assert both.startswith("interpreter: needs Python 3.14+ (this is CPython 3.11.7); ")
    assert both.endswith("free-threaded: needs a free-threaded build")
    assert pools_unavailable_line(["serial", "thread"], LACKS, "x") is None
    # A kind the facts do not name is unknown, not missing (an older recording).
    assert pools_unavailable_line(["interpreter"], {"serial": None}, "x") is None


def test_a_preset_cut_to_the_pools_a_python_has():
    p = presets.get_preset("crunch-interpreters")
    cut, note = presets.runnable_part(p, LACKS, "CPython 3.11.7")
    assert [c.pool for c in cut.pools] == ["serial", "thread", "process"]
    assert note == "not run: interpreter: needs Python 3.14+ (this is CPython 3.11.7)"
    same, none = presets.runnable_part(p, {**LACKS, "interpreter": None}, "CPython 3.14.10")
    assert same is p and none is None


def test_the_deck_says_what_it_left_out_on_this_python():
    note = deck.left_out_note(None)
    if hasattr(concurrent.futures, "InterpreterPoolExecutor"):
        assert note is None
        return
    left = [p.name for p in presets.builtin_presets() if p.name not in {
        q.name for q in deck.load(None)}]  # fmt: skip
    assert left and note.startswith(
        f"interpreter: needs Python 3.14+ (this is CPython {platform.python_version()}): "
        f"{len(left)} presets left out ("
    )
    assert all(name in note for name in left)
    assert deck.left_out_note("my-deck.toml") is None  # a deck of the user's: as written


def _run(pool: str, wall: float, version: str) -> dict:
    return {
        "pool": pool, "label": pool, "pool_size": 2, "wall_s": wall, "speedup": None,
        "parallelism": 1.0, "gil": {"contention": 0.0}, "states": {}, "workers": [],
        "error": None, "python": {**PY314, "version": version},
    }  # fmt: skip


def test_runs_grouped_by_python_get_their_own_speedups_and_verdicts():
    from gilviz.core.running.plan import by_python

    specs = [build_spec("crunch", pool=p, python=py) for py in ("/a", "/b")
             for p in ("serial", "process")]  # fmt: skip
    runs = [_run("serial", 1.0, "3.13.0"), _run("process", 0.5, "3.13.0"),
            _run("serial", 0.75, "3.14.10"), _run("process", 0.5, "3.14.10")]  # fmt: skip
    groups = by_python(specs, runs)
    assert [(path, len(rs)) for path, rs in groups] == [("/a", 2), ("/b", 2)]
    for _, rs in groups:
        report.fill_speedups(rs, cores=2)
    assert [r["speedup"] for r in runs] == [1.0, 2.0, 1.0, 1.5]
    named = [(report.python_tag(rs[0]["python"]), rs) for _, rs in groups]
    table = report.compare_table(runs, named).splitlines()
    assert table[0].split()[:2] == ["python", "pool"]
    assert table[2].split()[:2] == ["3.13.0", "serial"]
    assert table[5].split()[:2] == ["3.14.10", "process"]
    assert table[-2].startswith("3.13.0: process fastest, 2.00x faster than serial")
    assert table[-1].startswith("3.14.10: process fastest, 1.50x faster than serial")
    # One Python: the table as it always was.
    assert report.compare_table(runs[:2], named[:1]).startswith("pool ")


def test_a_free_threaded_build_is_tagged_t():
    assert report.python_tag({**PY314, "build": "GCC, free-threaded"}) == "3.14.10t"
    assert report.python_tag(PY314) == "3.14.10" and report.python_tag(None) == "?"


def test_doctor_says_free_threaded_builds_are_untested(capsys):
    import json

    from gilviz import cli

    assert cli.main(["doctor"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("free-threaded"))
    assert "untested" in line and "this Python is not one" in line
    assert cli.main(["doctor", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["gil"]["free_threaded"].startswith("untested: ")
