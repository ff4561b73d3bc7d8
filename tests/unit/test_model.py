"""The model folds events and samples into states, contention and latency, exactly."""

from __future__ import annotations

import pytest

from gilviz.core import report
from gilviz.core.measuring.samples import STATES, CoreSample, ThreadSample
from gilviz.core.model import GRID_LEN, SERIES_STEP_NS, LatencyHistogram, RunModel, _with_idle
from gilviz.core.protocol import decode
from gilviz.core.running.spec import build_spec

MS = 1_000_000


def _sample(wid, t_ms, shares, dt_ms=20, processor=0):
    state = max(shares, key=shares.get)
    return ThreadSample(wid, t_ms * MS, dt_ms * MS, shares, state, 0, processor, "S", None)


def _model(method="/proc sampling"):
    m = RunModel(build_spec("crunch", pool="thread", workers=2, tasks=2), method, [0, 1])
    m.on_message(decode(["worker", 0, 100, 101]))
    m.on_message(decode(["worker", 1, 100, 102]))
    return m


def test_busy_interval_keeps_the_samplers_split():
    m = _model()
    m.on_message(decode(["s", 0, 0, 0]))
    m.on_message(decode(["e", 0, 0, 0, 100 * MS, 50 * MS, True]))
    m.on_tick([_sample(0, 40, {"running": 0.5, "gil_wait": 0.5})], None)
    m.finish("done")
    w = m.snapshot().workers[0]
    assert w.states["running"] == pytest.approx(0.5)
    assert w.states["gil_wait"] == pytest.approx(0.5)
    assert w.timeline == ("running",) or w.timeline == ("gil_wait",)
    assert m.snapshot().gil_contention == pytest.approx(0.5)


def test_interval_without_a_task_is_idle_even_if_blocked():
    m = _model()
    m.on_tick([_sample(1, 40, {"lock_wait": 1.0})], None)
    m.finish("done")
    w = m.snapshot().workers[1]
    assert w.states["idle"] == pytest.approx(1.0)
    assert w.timeline == ("idle",)
    assert m.snapshot().gil_contention is None  # no busy time at all


def test_task_ending_mid_interval_splits_busy_and_idle():
    m = _model()
    m.on_message(decode(["e", 0, 0, 0, 30 * MS, 10 * MS, True]))  # the start event never arrived
    m.on_tick([_sample(0, 40, {"running": 0.5, "lock_wait": 0.5})], None)
    m.finish("done")
    states = m.snapshot().workers[0].states
    assert states["idle"] == pytest.approx(0.5)
    assert states["running"] == pytest.approx(0.5)
    assert sum(states.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("state", ["running", "gil_wait", "io_wait", "lock_wait", "runnable"])
@pytest.mark.parametrize("busy_ms", [0, 4, 9, 10, 11, 20])
def test_one_state_samples_fold_as_with_idle_says(state, busy_ms):
    # A sample all in one state takes the model's short path: it must give what the
    # general one (_with_idle, then the dominant state) gives for it.
    m = _model()
    if busy_ms:
        m.on_message(decode(["e", 0, 0, 20 * MS, (20 + busy_ms) * MS, 0, True]))  # in (20, 40]
    m.on_tick([_sample(0, 40, {state: 1.0})], None)
    m.finish("done")
    w = m.snapshot().workers[0]
    want = _with_idle({state: 1.0}, busy_ms / 20)
    assert w.states == pytest.approx(want, abs=1e-12)
    best = max(want.values())
    assert w.timeline == (next(k for k in STATES if want[k] == best),)


def test_with_idle_shares_always_sum_to_one():
    for busy in (0.0, 0.3, 1.0):
        for shares in (
            {"running": 1.0},
            {"running": 0.2, "runnable": 0.1, "gil_wait": 0.7},
            {"io_wait": 1.0},
            {"running": 0.1, "lock_wait": 0.9},
            {},
        ):
            out = _with_idle(shares, busy)
            assert set(out) == set(STATES)
            assert sum(out.values()) == pytest.approx(1.0)
            waiting = shares.get("io_wait", 0.0) + shares.get("lock_wait", 0.0)
            expected_idle = (1 - busy) if not shares else min(1 - busy, waiting)
            assert out["idle"] == pytest.approx(expected_idle)
            for k in ("running", "runnable", "gil_wait"):  # never idle, task or not
                assert out[k] == pytest.approx(shares.get(k, 0.0))


def test_waiting_for_the_gil_between_tasks_is_contention_not_idleness():
    m = _model()
    m.on_message(decode(["t", 0, 5, 20 * MS, 24 * MS, 6, 0]))  # tasks for 4 ms of the 20 ms sample
    m.on_tick([_sample(0, 40, {"running": 0.2, "gil_wait": 0.5, "lock_wait": 0.3})], None)
    m.finish("done")
    states = m.snapshot().workers[0].states
    assert states["gil_wait"] == pytest.approx(0.5)
    assert states["idle"] == pytest.approx(0.3)  # blocked outside the GIL: waiting for work
    assert states["lock_wait"] == pytest.approx(0.0)


def test_fallback_method_reports_nulls():
    m = _model(method="psutil (per-thread CPU only)")
    m.on_message(decode(["s", 0, 0, 0]))
    sample = ThreadSample(0, 40 * MS, 20 * MS, None, "n/a", 0, None, "?", None)
    m.on_tick([sample], None)
    m.on_message(decode(["end", {"wall_s": 0.1, "tasks_done": 0, "error": None}]))
    m.finish("done")
    summary = report.run_summary(m)
    assert summary["gil"]["contention"] is None
    assert set(summary["states"].values()) == {None}
    assert summary["workers"][0]["states"]["running"] is None


def test_cpu_tasks_and_parallelism_come_from_task_events():
    m = _model()
    m.on_message(decode(["e", 0, 0, 0, 100 * MS, 90 * MS, True]))
    m.on_message(decode(["e", 1, 1, 0, 100 * MS, 80 * MS, True]))
    m.on_message(decode(["end", {"wall_s": 0.1, "tasks_done": 2, "error": None, "outcome": None}]))
    m.finish("done")
    s = report.run_summary(m)
    assert s["cpu_s"] == pytest.approx(0.17)
    assert s["parallelism"] == pytest.approx(1.7)
    assert [w["tasks"] for w in s["workers"]] == [1, 1]
    assert s["tasks_done"] == 2


def test_cores_record_the_worker_that_ran_most_there():
    m = _model()
    samples = [
        _sample(0, 40, {"running": 0.9, "gil_wait": 0.1}, processor=1),
        _sample(1, 40, {"running": 0.2, "gil_wait": 0.8}, processor=1),
    ]
    m.on_tick(samples, CoreSample(40 * MS, 20 * MS, {0: 0.1, 1: 1.0}))
    cores = {c.cpu: c for c in m.snapshot().cores}
    assert cores[1].wid == 0 and cores[1].busy == 1.0
    assert cores[0].wid is None


def test_latency_histogram_percentiles_within_one_percent():
    h = LatencyHistogram()
    assert h.percentile(0.5) is None
    h.add(list(range(1, 10_001)))  # 1..10000 µs
    assert h.percentile(0.5) == pytest.approx(5.0, rel=0.011)
    assert h.percentile(0.99) == pytest.approx(9.9, rel=0.011)
    h2 = LatencyHistogram()
    h2.add([0, 0, 0])
    assert h2.percentile(0.99) == 0.0


def test_timeline_is_bounded():
    m = _model()
    m.on_message(decode(["s", 0, 0, 0]))
    ticks = [_sample(0, 40 + 20 * i, {"running": 1.0}) for i in range(2000)]
    for s in ticks:
        m.on_tick([s], None)
    m.finish("done")
    assert len(m.snapshot().workers[0].timeline) == 600


def test_gil_holder_shares_from_memory_reads():
    m = _model()
    m.on_message(decode(["s", 0, 0, 0]))
    samples = [
        ThreadSample(
            0,
            (40 + 20 * i) * MS,
            20 * MS,
            {"io_wait": 1.0},
            "io_wait",
            0,
            0,
            "S",
            "clock_nanosleep",
            gil_holder=(i % 2 == 0),
        )  # fmt: skip
        for i in range(4)
    ]
    # A sample at a tick that did not read the holder (None) counts in neither share.
    unread = ThreadSample(0, 120 * MS, 20 * MS, {"io_wait": 1.0}, "io_wait", 0, 0, "S", None)
    m.on_tick([*samples, unread], None)
    m.finish("done")
    w = m.snapshot().workers[0]
    assert w.gil_held == 0.5 and w.blocked_holding_gil == 0.5
    method = report.run_summary(m)["gil"]["holder_method"]
    assert method.startswith("GIL holder read") and method.endswith(", 4 samples")
    assert m.snapshot().workers[1].gil_held is None


def test_a_runner_without_a_gil_has_no_gil_figures_and_says_why():
    m = _model()
    hello = {"version": "3.14.0", "implementation": "CPython", "gil_enabled": False}
    m.on_message(decode(["hello", {"pid": 100, "executable": "python3.14t", "python": hello}]))
    m.on_message(decode(["s", 0, 0, 0]))
    m.on_tick([_sample(0, 40, {"running": 0.5, "lock_wait": 0.5})], None)
    m.finish("done")
    snap = m.snapshot()
    assert snap.gil_contention is None  # n/a, not 0: there is no GIL to wait for
    assert "free-threaded" in snap.gil_note
    assert snap.workers[0].states["lock_wait"] == pytest.approx(0.5)  # still split
    gil = report.run_summary(m)["gil"]
    assert gil["contention"] is None and gil["note"] == snap.gil_note
    assert _model().snapshot().gil_note is None


def test_late_counter_time_is_handed_back_to_earlier_samples():
    m = _model()
    m.on_message(decode(["s", 0, 0, 0]))
    # The kernel had not yet counted 10 ms of running in the first interval (it looked
    # blocked), and counted them in the second (where they overflow the interval).
    first = _sample(0, 40, {"running": 0.5, "gil_wait": 0.5})
    late = ThreadSample(0, 60 * MS, 20 * MS, {"running": 1.0}, "running", 0, 0, "R", None,
                        excess_run_ns=10 * MS)  # fmt: skip
    m.on_tick([first], None, now=40 * MS)  # the model's clock: nothing folded yet
    m.on_tick([late], None, now=60 * MS)
    m.finish("done")
    states = m.snapshot().workers[0].states
    assert states["running"] == pytest.approx(1.0)
    assert states["gil_wait"] == pytest.approx(0.0)
    # The model re-weighed a copy: the sample it was given is as it was, so a second model
    # fed the same objects (a recording's replay in the player) gives the same figures.
    assert first.shares == {"running": 0.5, "gil_wait": 0.5}
    again = _model()
    again.on_message(decode(["s", 0, 0, 0]))
    again.on_tick([first], None, now=40 * MS)
    again.on_tick([late], None, now=60 * MS)
    again.finish("done")
    assert again.snapshot().workers[0].states == states


def test_hand_back_never_exceeds_what_was_blocked():
    m = _model()
    m.on_message(decode(["s", 0, 0, 0]))
    m.on_tick([_sample(0, 40, {"running": 0.9, "io_wait": 0.1})], None, now=40 * MS)
    over = ThreadSample(0, 60 * MS, 20 * MS, {"running": 1.0}, "running", 0, 0, "R", None,
                        excess_run_ns=15 * MS)  # fmt: skip
    m.on_tick([over], None, now=60 * MS)
    m.finish("done")
    states = m.snapshot().workers[0].states
    assert sum(states.values()) == pytest.approx(1.0)
    assert states["io_wait"] == pytest.approx(0.0)
    assert states["running"] == pytest.approx(1.0)


def test_a_stretch_of_local_tasks_counts_them_and_ends_the_open_start():
    m = _model()
    m.on_message(decode(["s", 0, 7, 0]))  # a start the runner sent while task 7 was running
    assert m.snapshot().workers[0].current_task == 7
    m.on_message(decode(["t", 0, 9, 0, 30 * MS, 3, 0]))  # tasks 7..9 back to back, all returned
    m.on_message(decode(["cpu", 0, 25 * MS]))
    m.on_tick([_sample(0, 40, {"running": 0.5, "lock_wait": 0.5})], None)
    m.finish("done")
    w = m.snapshot().workers[0]
    assert w.tasks == 3 and w.current_task is None
    assert w.cpu_s == pytest.approx(0.025)
    assert w.states["running"] == pytest.approx(0.5)  # busy 0-30 ms of the 20-40 ms sample
    assert w.states["idle"] == pytest.approx(0.5)


def test_stretches_cut_by_a_flush_join_back_into_one_busy_interval():
    m = _model()
    m.on_message(decode(["t", 0, 4, 0, 10 * MS, 5, 0]))
    m.on_message(decode(["t", 0, 9, 10 * MS + 50_000, 40 * MS, 4, 1]))  # 50 µs later: same stretch
    m.on_tick([_sample(0, 40, {"lock_wait": 1.0})], None)
    m.finish("done")
    w = m.snapshot().workers[0]
    assert w.tasks == 9  # the failed one is not counted as done
    assert w.states["idle"] == pytest.approx(0.0, abs=1e-4)  # the 50 µs gap would be 2.5e-3


def test_a_process_start_that_arrives_after_its_end_is_not_kept():
    # Process workers' starts and ends reach the runner by two threads: a start can come
    # second. The worker then has no task, and nothing is kept per task.
    m = _model()
    for task in range(1000):
        t0 = task * 2 * MS
        m.on_message(decode(["e", 0, task, t0, t0 + MS, MS // 2, True]))
        m.on_message(decode(["s", 0, task, t0]))
    assert m.workers[0].open_starts == {}
    m.on_tick([_sample(0, 2020, {"lock_wait": 1.0})], None)  # well after the last task
    m.finish("done")
    w = m.snapshot().workers[0]
    assert w.current_task is None and w.tasks == 1000
    assert w.states["idle"] == pytest.approx(1.0)


def test_an_end_closes_the_workers_earlier_starts():
    m = _model()
    m.on_message(decode(["s", 0, 7, 0]))  # task 7's end is lost (a stop, a crash)
    m.on_message(decode(["s", 0, 8, 5 * MS]))
    m.on_message(decode(["e", 0, 8, 5 * MS, 9 * MS, MS, True]))
    assert m.workers[0].open_starts == {}
    m.on_message(decode(["s", 0, 9, 10 * MS]))
    assert m.workers[0].open_starts == {9: 10 * MS}


def test_the_end_carries_the_runners_window_into_the_summary():
    m = _model()
    flight = {"bound": 512, "peak": 300, "chunk": 1}
    m.on_message(decode(["end", {"wall_s": 1.0, "tasks_done": 2, "in_flight": flight}]))
    m.finish("done")
    summary = report.run_summary(m)["in_flight"]
    assert {k: summary[k] for k in flight} == flight and summary["method"]
    old = _model()  # a runner (or recording) from before the window: no figure
    old.on_message(decode(["end", {"wall_s": 1.0, "tasks_done": 2}]))
    assert report.run_summary(old)["in_flight"] is None


# --- the whole-run grid and the heartbeat's worst wake-ups (issue 18: #1, #4, #22) ------


def _grid_model(workers: int = 2) -> RunModel:
    spec = build_spec("crunch", pool="thread", workers=workers, tasks=4)
    m = RunModel(spec, "/proc sampling", [0, 1], started_ns=0)
    for wid in range(workers):
        m.on_message(decode(["worker", wid, 100, 101 + wid]))
    return m


def test_tasks_over_time_count_tasks_by_their_end_times():
    m = _grid_model()
    # two tasks end at 0.35 s, two at 1.25 s; the messages arrive long after, together
    for task, t1 in enumerate((350, 350, 1250, 1250)):
        m.on_message(decode(["e", task % 2, task, 0, t1 * MS, 10 * MS, True]))
    m.on_tick([], None, now=2000 * MS)
    m.finish("done", now=2000 * MS)
    snap = m.snapshot()
    step_ms = snap.grid_step_s * 1000
    assert step_ms == 100
    done = snap.tasks_over_time
    assert done[2] == 0 and done[3] == 2  # the bucket of 0.3-0.4 s
    assert done[11] == 2 and done[12] == 4  # of 1.2-1.3 s
    assert done[-1] == snap.tasks_done == 4


def test_a_stretch_of_tiny_tasks_is_spread_over_the_time_it_took():
    m = _grid_model()
    m.on_message(decode(["t", 0, 999, 0, 1000 * MS, 1000, 0]))  # 1000 tasks in 1 s
    m.finish("done", now=1000 * MS)
    done = m.snapshot().tasks_over_time
    assert done[-1] == 1000
    steps = [b - a for a, b in zip((0, *done), done, strict=False)]
    assert all(90 <= s <= 110 for s in steps[:10])  # about 100 per 0.1 s, not 1000 at the end


def test_the_grid_keeps_the_whole_run_in_bounded_buckets():
    m = _grid_model(1)
    total_s = 600  # ten minutes: 6000 buckets of 0.1 s, kept as at most GRID_LEN wider ones
    for i in range(total_s):
        t = (i + 1) * 1000 * MS
        m.on_message(decode(["e", 0, i, t - 500 * MS, t, 400 * MS, True]))
        m.on_tick([_sample(0, t // MS, {"running": 0.25, "gil_wait": 0.75}, dt_ms=1000)], None,
                  now=t + 400 * MS)  # fmt: skip
    m.finish("done", now=(total_s + 1) * 1000 * MS)
    snap = m.snapshot()
    assert len(snap.tasks_over_time) <= GRID_LEN
    assert len(snap.tasks_over_time) * snap.grid_step_s >= total_s  # from the start
    assert snap.tasks_over_time[-1] == total_s
    ran = sum(r[STATES.index("running")] for r in snap.state_time)
    sampled = sum(r[-1] for r in snap.state_time)
    assert sampled == pytest.approx(total_s)
    assert ran / sampled == pytest.approx(snap.states["running"])  # the same time, re-cut


def test_state_time_splits_each_bucket_as_the_whole_run_is_split():
    m = _grid_model()
    m.on_message(decode(["s", 0, 0, 0]))
    m.on_message(decode(["s", 1, 1, 0]))
    m.on_tick([_sample(0, 50, {"running": 1.0}), _sample(1, 50, {"gil_wait": 1.0})], None,
              now=60 * MS)  # fmt: skip
    m.on_tick([_sample(0, 150, {"gil_wait": 1.0}), _sample(1, 150, {"running": 1.0})], None,
              now=160 * MS)  # fmt: skip
    m.finish("done", now=200 * MS)
    rows = m.snapshot().state_time
    run, gil = STATES.index("running"), STATES.index("gil_wait")
    assert rows[0][run] == pytest.approx(0.02) and rows[0][gil] == pytest.approx(0.02)
    assert rows[1][run] == pytest.approx(0.02) and rows[1][-1] == pytest.approx(0.04)


def test_psutil_fallback_has_no_state_mix():
    m = _grid_model()
    m.method = "psutil (fallback)"
    m.on_tick([_sample(0, 50, {"running": 1.0})], None, now=60 * MS)
    m.finish("done", now=100 * MS)
    assert m.snapshot().state_time == ()


def test_no_half_second_reads_below_the_runs_p99():
    """One late wake-up in ten, in every 0.5 s: each window's own p99 is an on-time one,
    the run's p99 a late one. The series holds each window's worst, the max the run's."""
    m = _grid_model()
    for i in range(10):
        m.on_message(decode(["hb", 100, [1000] * 9 + [50_000]]))
        m.on_tick([], None, now=(i + 1) * SERIES_STEP_NS)
    m.on_message(decode(["hb", 100, [1000, 70_000]]))  # the last, short window counts too
    m.finish("done", now=10 * SERIES_STEP_NS + 100 * MS)
    snap = m.snapshot()
    assert snap.latency_p99_ms > 40
    assert max(snap.latency_series) == snap.latency_max_ms == 70.0
    assert all(v >= 50.0 for v in snap.latency_series)
    assert snap.latency_max_ms >= snap.latency_p99_ms
