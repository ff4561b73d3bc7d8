"""What the headless CLI prints from finished runs."""

from __future__ import annotations

from gilviz.core import report


def _run(pool, wall, contention=None, error=None, io=0.0):
    return {
        "pool": pool,
        "pool_size": 2,
        "workload": "crunch",
        "tasks": 4,
        "tasks_done": 4,
        "size": 10,
        "wall_s": wall,
        "cpu_s": 1.0,
        "speedup": None,
        "parallelism": 1.0,
        "gil": {"contention": contention, "method": "/proc sampling", "samples": 10},
        "latency_ms": {"p50": None, "p99": None},
        "states": {"running": 1.0, "io_wait": io},
        "workers": [],
        "pickle": None,
        "outcome": None,
        "error": error,
    }


def test_speedups_are_against_the_serial_run():
    runs = [_run("serial", 2.0), _run("thread", 2.0, 0.5), _run("process", 1.0)]
    report.fill_speedups(runs)
    assert [r["speedup"] for r in runs] == [1.0, 1.0, 2.0]


def test_no_serial_run_no_speedup():
    runs = [_run("thread", 2.0), _run("process", 1.0)]
    report.fill_speedups(runs)
    assert [r["speedup"] for r in runs] == [None, None]


def test_verdict_names_the_winner_and_the_measured_reason():
    runs = [_run("serial", 2.0), _run("thread", 2.0, 0.49), _run("process", 1.0)]
    assert report.verdict_line(runs) == (
        "process fastest, 2.00x faster than serial: GIL contention 49% on threads"
    )


def test_table_shows_errors_and_na():
    runs = [_run("serial", 1.0), _run("thread", 0.0, error="the runner process was killed")]
    text = report.compare_table(runs)
    assert "error: the runner process was killed" in text
    assert "n/a" in text
    assert report.verdict_line(runs) is None
