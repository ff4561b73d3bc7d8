"""How long a run would take, from runs measured here (core.teaching.estimate)."""

from __future__ import annotations

import pytest

from gilviz.core.teaching.estimate import duration, estimate


def run(pool: str, workers: int, wall: float, size: int = 1_000_000, **kw) -> dict:
    return {"workload": "crunch", "pool": pool, "pool_size": workers, "tasks": 4,
            "tasks_done": 4, "size": size, "wall_s": wall, "error": None, **kw}  # fmt: skip


def test_the_closest_measured_run_is_scaled_by_tasks_times_size():
    runs = [run("serial", 1, 2.0), run("thread", 2, 3.0), run("thread", 4, 4.0)]
    # the same pool and size of pool: 4M in 4 s, so 8 × 10M takes 80 s
    e = estimate("crunch", "thread", 4, 8, 10_000_000, runs)
    assert e is not None and e.seconds == pytest.approx(80.0)
    assert e.basis == "crunch on threads ×4, 4 × 1M in 4.00 s"
    assert e.text().startswith("about 80 s (estimated from crunch on threads ×4, ")
    # the same pool, another size of pool: the longest run of that pool
    assert estimate("crunch", "thread", 8, 4, 1_000_000, runs).seconds == pytest.approx(4.0)
    # another pool: the longest run of any pool
    assert estimate("crunch", "process", 4, 4, 1_000_000, runs).seconds == pytest.approx(4.0)


def test_no_usable_run_no_estimate():
    failed = run("thread", 4, 1.0, error="boom")
    cached = {k: v for k, v in run("thread", 4, 2.0).items() if k != "tasks_done"}
    assert estimate("crunch", "thread", 4, 4, 1_000_000, [failed]) is None
    assert estimate("hash", "thread", 4, 4, 1, [run("thread", 4, 1.0)]) is None
    assert estimate("crunch", "thread", 4, 4, None, [run("thread", 4, 1.0)]) is None
    # a reference cache entry counts its tasks (it keeps finished runs)
    assert estimate("crunch", "thread", 4, 4, 1_000_000, [cached]).seconds == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(42, "42 s"), (750, "12 min"), (11_000, "3.1 h"), (400_000, "4.6 days")],
)
def test_duration_words(seconds, text):
    assert duration(seconds) == text
