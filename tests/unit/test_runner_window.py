"""The runner's window: tasks are submitted a window at a time, so what it holds does not
grow with the task count. Checked structurally: the executor itself counts what it was
given and has not finished, and that never passes the runner's bound."""

from __future__ import annotations

import concurrent.futures as cf
import threading

import pytest

from gilviz.core.running import runner as R
from gilviz.core.running import workloads
from tests.helpers import wait_for
from tests.unit.test_runner_lanes import _Capture, _spec


@pytest.fixture(autouse=True)
def _fresh_cancel_flag():
    workloads.reset_cancel()
    yield
    workloads.reset_cancel()


class _Counted:
    """Mixed into an executor: counts submissions not yet finished, and their maximum."""

    def submit(self, fn, /, *args, **kwargs):
        with self._count_lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.submitted += 1
        fut = super().submit(fn, *args, **kwargs)
        fut.add_done_callback(self._finished)  # before the runner's own callback
        return fut

    def _finished(self, fut: cf.Future) -> None:
        with self._count_lock:
            self.in_flight -= 1

    def _start_count(self) -> None:
        self._count_lock = threading.Lock()
        self.in_flight = self.most = self.submitted = 0


def _counting(base: type, made: list) -> type:
    class Counting(_Counted, base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._start_count()
            made.append(self)

    return Counting


def _run(spec: dict, monkeypatch, executor: str) -> tuple[dict, R.Runner, _Counted]:
    made: list = []
    monkeypatch.setattr(R.cf, executor, _counting(getattr(cf, executor), made))
    cap = _Capture()
    runner = R.Runner(spec, cap.emit)
    runner.run()
    end = [m for m in cap.close() if m[0] == "end"][-1][1]
    (pool,) = made
    return end, runner, pool


@pytest.mark.parametrize("tasks", [3000, 30000])
def test_a_thread_pool_holds_a_window_whatever_the_task_count(tasks, monkeypatch):
    end, runner, pool = _run(_spec("thread", 3, tasks), monkeypatch, "ThreadPoolExecutor")
    assert end["error"] is None and end["tasks_done"] == tasks
    assert pool.submitted == tasks  # one submission per task, as before
    bound = end["in_flight"]["bound"]
    assert bound == R.AHEAD_MIN < tasks // 5  # set by the workers, not by the task count
    assert 0 < end["in_flight"]["peak"] <= bound
    # A worker pops its task's token just before its future completes: at most one such
    # task per worker thread is still counted by the executor.
    assert pool.most <= bound + 3


@pytest.mark.parametrize("chunk", [1, 50])
def test_a_process_pool_holds_a_window_whatever_the_task_count(chunk, monkeypatch):
    tasks = 4000
    spec = {**_spec("process", 2, tasks, size=1), "chunksize": chunk, "heartbeat": False}
    end, runner, pool = _run(spec, monkeypatch, "ProcessPoolExecutor")
    assert end["error"] is None and end["tasks_done"] == tasks
    flight = end["in_flight"]
    assert flight["chunk"] == chunk
    assert pool.submitted == -(-tasks // chunk)
    assert flight["bound"] * chunk < tasks
    assert 0 < flight["peak"] <= flight["bound"]
    assert pool.most <= flight["bound"]  # the executor's count drops before the runner's
    assert end["pickle"]["args_bytes"] > 0 and end["pickle"]["results_bytes"] > 0


def test_an_interpreter_pool_holds_a_window_whatever_the_task_count(monkeypatch):
    # Python 3.14's InterpreterPoolExecutor is a ThreadPoolExecutor whose workers are
    # subinterpreters; where there is none, a thread pool stands in for it: the runner
    # submits and collects the same way (pickled argument in, timings and result out).
    made: list = []
    real = getattr(cf, "InterpreterPoolExecutor", None)
    monkeypatch.setattr(
        R.cf, "InterpreterPoolExecutor", _counting(real or cf.ThreadPoolExecutor, made),
        raising=False,
    )  # fmt: skip
    tasks = 3000
    cap = _Capture()
    R.Runner(_spec("interpreter", 2, tasks, size=1), cap.emit).run()
    end = [m for m in cap.close() if m[0] == "end"][-1][1]
    (pool,) = made
    assert end["error"] is None and end["tasks_done"] == tasks
    assert pool.submitted == tasks
    flight = end["in_flight"]
    assert flight["bound"] < tasks and 0 < flight["peak"] <= flight["bound"]
    assert pool.most <= flight["bound"]
    assert end["pickle"]["args_bytes"] > 0


def test_big_arguments_shrink_a_process_pools_window(monkeypatch):
    monkeypatch.setattr(R, "AHEAD_BYTES", 1 << 20)
    spec = {**_spec("process", 2, 40, workload="pickle-heavy", size=100_000), "chunksize": 1,
            "heartbeat": False}  # fmt: skip
    end, runner, pool = _run(spec, monkeypatch, "ProcessPoolExecutor")
    assert end["error"] is None and end["tasks_done"] == 40
    blob = end["pickle"]["args_bytes"] // 40
    assert blob > (1 << 20) // 8  # so a MiB holds fewer than 8 arguments ...
    assert end["in_flight"]["bound"] == 2 * 2  # ... and the floor, 2 per worker, applies
    assert pool.most <= 4


def test_a_serial_run_has_one_task_in_flight():
    cap = _Capture()
    R.Runner(_spec("serial", 1, 500), cap.emit).run()
    end = [m for m in cap.close() if m[0] == "end"][-1][1]
    assert end["tasks_done"] == 500
    assert end["in_flight"] == {"bound": 1, "peak": 1, "chunk": 1}


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_a_stop_cancels_what_was_not_submitted_yet(pool):
    # Far more tasks than the window: a stop must end the run without submitting them.
    spec = {**_spec(pool, 2, 1_000_000, workload="sleep", size=1), "heartbeat": False,
            "chunksize": 1}  # fmt: skip
    cap = _Capture()
    runner = R.Runner(spec, cap.emit)
    t = threading.Thread(target=runner.run)
    t.start()
    try:
        wait_for(lambda: runner.done > 0 or cap.msgs, what="the run to begin")
        runner.request_stop()
        t.join(60)
        assert not t.is_alive()
    finally:
        runner.request_stop()
        t.join(60)
    end = [m for m in cap.close() if m[0] == "end"][-1][1]
    assert end["failure"] == "stopped" and end["error"] == "stopped"
    assert end["tasks_done"] < 1_000_000
    assert end["in_flight"]["peak"] <= end["in_flight"]["bound"]


_seen = 0


def third_raises(n: int) -> int:
    global _seen
    _seen += 1
    if _seen == 3:
        raise ValueError("the third")
    return n


def test_a_failing_task_in_a_chunk_is_named(monkeypatch):
    spec = {**_spec("process", 1, 20, workload=f"{__file__}:third_raises", size=0),
            "chunksize": 5, "heartbeat": False}  # fmt: skip
    end, runner, pool = _run(spec, monkeypatch, "ProcessPoolExecutor")
    assert end["failure"] == "task_raised"
    assert end["error"].startswith("task 2 raised ValueError: the third at ")
    assert end["error"].endswith(" in third_raises")  # the user's frame, not the chunk's


def test_a_collector_ahead_of_gilvizs_reading_writes_its_backlog_first(monkeypatch):
    # Past EMIT_BACKLOG messages waiting, the collector writes them itself before taking
    # more results (the pipe then holds it back): every task's end still arrives, once.
    monkeypatch.setattr(R, "EMIT_BACKLOG", 0)
    flushes: list[tuple[str, int]] = []
    real_flush = R.Emitter.flush

    def flush(self) -> None:
        flushes.append((threading.current_thread().name, self.backlog()))
        real_flush(self)

    monkeypatch.setattr(R.Emitter, "flush", flush)
    spec = {**_spec("process", 2, 2000, size=1), "chunksize": 1, "heartbeat": False}
    cap = _Capture()
    R.Runner(spec, cap.emit).run()
    msgs = cap.close()
    end = [m for m in msgs if m[0] == "end"][-1][1]
    assert end["error"] is None and end["tasks_done"] == 2000
    assert sorted(m[2] for m in msgs if m[0] == "e") == list(range(2000))
    # The collector is this thread; it also flushes once per new worker (2), with its
    # announcement only. Without the backlog rule it would flush nothing else.
    mine = [n for name, n in flushes if name == threading.current_thread().name and n > 1]
    assert len(mine) > 2
