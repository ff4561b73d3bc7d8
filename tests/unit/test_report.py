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


def test_no_verdict_on_a_run_too_short_to_measure():
    assert report.too_short(0.05, 100, sampled=True)["hint"] == report.TOO_SHORT_HINT
    assert report.too_short(1.0, 3, sampled=True)["samples"] == 3
    assert report.too_short(1.0, 0, sampled=False) is None  # not sampled: the wall decides
    runs = [_run("serial", 0.001), _run("thread", 0.5)]
    runs[0]["too_short"] = report.too_short(0.001, 0, sampled=True)
    verdict = report.verdict_line(runs)
    assert verdict.startswith("no verdict: serial ran 0.001 s, too short to measure")
    assert "fastest" not in verdict


def test_a_speedup_the_machine_cannot_give_is_flagged_not_presented():
    cpu_bound = [_run("serial", 2.0), _run("process", 0.5)]  # 4x on 2 cores, all CPU
    cpu_bound[0]["parallelism"] = 0.99
    report.fill_speedups(cpu_bound, cores=2)
    assert "slowed by other work" in cpu_bound[1]["speedup_note"]
    assert report.verdict_line(cpu_bound).startswith("no verdict: process's 4.00x")
    waiting = [_run("serial", 0.8), _run("thread", 0.2)]  # sleeps: 4 workers, 4x is fine
    waiting[0]["parallelism"] = 0.01
    waiting[1]["pool_size"] = 4
    report.fill_speedups(waiting, cores=2)
    assert "speedup_note" not in waiting[1]
    assert report.verdict_line(waiting).startswith("thread fastest, 4.00x")


def test_runs_within_the_noise_are_about_the_same():
    runs = [_run("serial", 1.0), _run("thread", 1.05)]
    assert report.verdict_line(runs).startswith("serial and thread about the same (1.05x")


def _workers(n: int, pid: int = 100) -> list[dict]:
    return [
        {"id": i, "pid": pid, "tid": pid + i, "tasks": 1 + i % 2, "cpu_s": 0.01 * (i % 5),
         "rss_bytes": 12 << 20}
        for i in range(n)
    ]  # fmt: skip


def test_the_per_worker_column_says_when_fewer_workers_ran_than_the_pool_has():
    thread = {**_run("thread", 1.0, 0.4), "pool_size": 4, "workers": _workers(3)}
    process = {**_run("process", 0.5), "pool_size": 4, "workers": _workers(4)}
    rows = report.compare_table([_run("serial", 2.0), thread, process]).splitlines()
    assert rows[3].endswith("0.00 0.01 0.02 (3 of 4 ran a task)"), rows[3]
    assert rows[4].endswith("0.00 0.01 0.02 0.03"), rows[4]


def test_many_workers_are_summarised_not_listed():
    run = {**_run("thread", 1.0, 0.4), "pool_size": 500, "workers": _workers(500)}
    text = report.run_text(run)
    assert len(text.splitlines()) < 10, text
    assert (
        "500 workers, in 1 process (each one in --json): tasks 1–2 (median 2) a worker, "
        "cpu 0.000 s–0.040 s (median 0.020 s) a worker"
    ) in text
    part = report.run_text({**run, "workers": _workers(300)})
    assert "300 of the pool's 500 workers ran a task, in 1 process" in part
    row = report.compare_table([_run("serial", 2.0), run]).splitlines()[3]
    assert row.endswith("0.00–0.04 (median 0.02) over 500 workers"), row
    # A screenful is still listed one worker a line.
    few = report.run_text({**run, "pool_size": 5, "workers": _workers(4)})
    assert len([line for line in few.splitlines() if "worker " in line]) == 4
    assert few.endswith("(4 of the pool's 5 workers ran a task)")


def test_states_and_outcomes_are_in_the_screens_words():
    run = {
        **_run("thread", 1.0, 0.4),
        "states": {"running": 0.5, "gil_wait": 0.3, "io_wait": 0.1, "runnable": 0.1},
        "outcome": {"expected": 4000, "final": 1500, "lost_updates": 2500, "copies": 1},
    }
    text = report.run_text(run)
    assert "states: running 50%  GIL wait 30%  I/O wait 10%  waiting for a core 10%" in text
    assert "outcome: 2,500 of 4,000 updates lost: the shared counter ended at 1,500" in text
    assert "lost_updates" not in text and "per_process" not in text


def test_the_unshareable_outcomes_in_words():
    shared = {"expected": 80_000, "total": 80_000, "objects": 1}
    assert report.outcome_text(shared) == (
        "1 shared object for every task: 80,000 of 80,000 locked increments counted"
    )
