"""The runner's local-worker bookkeeping: every task is counted exactly once, in busy
stretches that never overlap, however the worker and the flusher interleave."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from gilviz.core.model import MERGE_GAP_NS as MODEL_GAP
from gilviz.core.running import runner as R


def _spec(pool: str, workers: int, tasks: int, workload: str = "tiny", size: int = 50) -> dict:
    return {"workload": workload, "pool": pool, "workers": workers, "tasks": tasks,
            "size": size, "params": {}, "switch_interval": None}  # fmt: skip


class _Capture:
    """An Emitter writing into a pipe that a thread drains into decoded messages."""

    def __init__(self) -> None:
        self.r, w = os.pipe()
        self.emit = R.Emitter(w)
        self.msgs: list[list] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._w = w

    def _read(self) -> None:
        for line in R._lines(self.r):
            if line:
                self.msgs.extend(json.loads(line))

    def close(self) -> list[list]:
        self.emit.close()
        os.close(self._w)
        self._reader.join(timeout=10)
        assert not self._reader.is_alive()
        return self.msgs


def test_the_runner_and_the_model_agree_on_the_gap():
    assert R.MERGE_GAP_NS == MODEL_GAP


@pytest.mark.parametrize("pool,workers", [("serial", 1), ("thread", 3)])
def test_every_local_task_is_counted_once_in_ordered_stretches(pool, workers):
    cap = _Capture()
    runner = R.Runner(_spec(pool, workers, 6000), cap.emit)
    runner.run()
    msgs = cap.close()
    end = [m for m in msgs if m[0] == "end"][-1][1]
    assert end["error"] is None and end["tasks_done"] == 6000
    stretches = [m for m in msgs if m[0] == "t"]
    assert sum(m[5] for m in stretches) == 6000 and all(m[6] == 0 for m in stretches)
    for wid in {m[1] for m in stretches}:
        mine = [m for m in stretches if m[1] == wid]
        for a, b in zip(mine, mine[1:], strict=False):  # sent in order, never overlapping
            assert a[3] <= a[4] <= b[3] <= b[4]
    cpu = [m for m in msgs if m[0] == "cpu"]
    assert cpu and all(m[2] > 0 for m in cpu)
    assert {m[1] for m in cpu} == {m[1] for m in msgs if m[0] == "worker"}


def test_a_flusher_racing_the_worker_never_loses_or_repeats_a_stretch():
    cap = _Capture()
    runner = R.Runner(_spec("serial", 1, 30000), cap.emit)
    stop = threading.Event()

    def hammer() -> None:  # flushes as fast as it can, far more often than FLUSH_S
        while not stop.is_set():
            cap.emit.flush()

    t = threading.Thread(target=hammer)
    t.start()
    try:
        for i in range(30000):
            runner._left.append(None)  # the task's token, as _run_serial gives it
            runner._local_task(i)
    finally:
        stop.set()
        t.join()
    msgs = cap.close()
    stretches = [m for m in msgs if m[0] == "t"]
    assert len(stretches) > 1  # the flusher did cut the stream
    assert sum(m[5] for m in stretches) == 30000
    assert [m[2] for m in stretches] == sorted(m[2] for m in stretches)  # last task, rising


def test_a_failing_local_task_reports_itself_and_stops_the_run():
    cap = _Capture()
    runner = R.Runner(_spec("thread", 2, 50, workload=f"{__file__}:boom", size=0), cap.emit)
    runner.run()
    end = [m for m in cap.close() if m[0] == "end"][-1][1]
    assert "raised ValueError: the fourth call" in end["error"]
    assert end["tasks_done"] < 49  # the rest were cancelled


_calls: list[int] = []
_lock = threading.Lock()


def boom(n: int) -> int:
    with _lock:
        _calls.append(n)
        k = len(_calls)
    if k == 4:
        raise ValueError("the fourth call")
    time.sleep(0.01)
    return k
