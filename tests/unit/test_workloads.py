"""Built-in workloads compute what their docstrings say and stop when cancelled."""

from __future__ import annotations

import hashlib
import os
import textwrap
import zlib

import pytest

from gilviz.core.running import workloads


@pytest.fixture(autouse=True)
def _clear_cancel():
    workloads.reset_cancel()
    yield
    workloads.reset_cancel()


def test_crunch_is_the_seeds_sum_of_squares():
    assert workloads.crunch(1000) == sum(i * i for i in range(1000))
    assert workloads.crunch(450_001) == sum(i * i for i in range(450_001))


def test_every_builtin_has_a_docstring_and_sane_defaults():
    for w in workloads.BUILTINS.values():
        assert w.doc, w.name
        assert w.min_size <= w.default_size <= w.max_size, w.name
        assert w.default_tasks >= 1 and w.default_workers >= 1


def test_hash_matches_hashlib_and_compress_shrinks():
    expected = hashlib.sha256(workloads._buffer(1)).hexdigest()
    assert workloads.hash(1) == expected
    assert 0 < workloads.compress(1) < 1 << 20
    assert zlib.decompress(zlib.compress(workloads._buffer(1))) == workloads._buffer(1)


def test_pickle_heavy_and_tiny():
    assert workloads.pickle_heavy([1, 2, 3]) == [2, 3, 4]
    assert workloads.BUILTINS["pickle-heavy"].make_arg(5) == [0, 1, 2, 3, 4]
    assert workloads.tiny(10) == 45


def test_shared_counter_counts_in_one_thread():
    before = workloads.COUNTER
    out = workloads.shared_counter(1000)
    assert out == {"pid": os.getpid(), "interpreter": 0, "counter": before + 1000}


def test_cancel_stops_a_long_crunch_and_sleep():
    workloads.request_cancel()
    with pytest.raises(workloads.Cancelled):
        workloads.crunch(10**10)
    with pytest.raises(workloads.Cancelled):
        workloads.sleep(3_600_000)


class _FakeClock:
    """time.monotonic/time.sleep where a sleep takes exactly what it asks for."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def test_sleep_wakes_only_to_look_for_a_stop(monkeypatch):
    # Each extra wake-up takes the GIL and costs the sampler a full read: a task no longer
    # than CANCEL_POLL_S is one sleep, a longer one is cut at CANCEL_POLL_S.
    clock = _FakeClock()
    monkeypatch.setattr(workloads, "time", clock)
    assert workloads.sleep(200) == 200
    assert clock.sleeps == [pytest.approx(0.2)]
    clock.sleeps.clear()
    workloads.sleep(int(2.5 * workloads.CANCEL_POLL_S * 1000))
    assert clock.sleeps == [
        pytest.approx(workloads.CANCEL_POLL_S),
        pytest.approx(workloads.CANCEL_POLL_S),
        pytest.approx(workloads.CANCEL_POLL_S / 2),
    ]


def test_fetch_without_server_says_why():
    workloads.params.pop("url", None)
    with pytest.raises(RuntimeError, match="local server"):
        workloads.fetch(10)


def test_resolve_builtin_and_unknown():
    assert workloads.resolve("crunch") is workloads.crunch
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        workloads.resolve("nope")


def test_resolve_user_module_and_file(tmp_path, monkeypatch):
    path = tmp_path / "userwork.py"
    path.write_text(
        textwrap.dedent(
            """
            def double(n):
                return 2 * n

            def no_arg():
                return "hi"

            def needs_two(a, *, b):
                return a

            value = 3
            """
        )
    )
    fn = workloads.resolve(f"{path}:double")
    assert fn(21) == 42
    assert workloads.resolve(f"{path}:no_arg", spread=True)(()) == "hi"
    # How its tasks will call it is checked before any runs: with args, the size, or none.
    workloads.check_call(f"{path}:no_arg", (), 0)
    workloads.check_call(f"{path}:double", None, 7)
    with pytest.raises(ValueError, match="needs an argument.*--size N.*--args LITERAL"):
        workloads.check_call(f"{path}:double", (), 0)
    with pytest.raises(ValueError, match="cannot be called with --size 5"):
        workloads.check_call(f"{path}:no_arg", None, 5)
    with pytest.raises(ValueError, match=r"cannot be called with --args \(1, 2\)"):
        workloads.check_call(f"{path}:double", (1, 2), 0)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert workloads.resolve("userwork:double")(2) == 4
    with pytest.raises(ValueError, match="not callable"):
        workloads.resolve(f"{path}:value")
    with pytest.raises(ValueError, match="no attribute 'missing'"):
        workloads.resolve(f"{path}:missing")
    with pytest.raises(ValueError, match="cannot import no_such_module_xyz"):
        workloads.resolve("no_such_module_xyz:f")
    with pytest.raises(ValueError, match="no such file"):
        workloads.resolve(f"{tmp_path}/absent.py:f")


def test_user_file_that_raises_on_import(tmp_path):
    path = tmp_path / "broken_mod.py"
    path.write_text("raise RuntimeError('boom at import')\n")
    with pytest.raises(ValueError, match="importing .* failed: RuntimeError: boom at import"):
        workloads.resolve(f"{path}:f")


def test_the_counter_tally_keeps_one_figure_a_process():
    a, b = workloads.CounterTally(), workloads.CounterTally()
    for counter in (5, 9, 7):
        a.add({"pid": 1, "counter": counter})
    b.add({"pid": 2, "counter": 4})
    b.add({"pid": 1, "counter": 11})
    a.merge(b)
    assert a.per_copy == {(1, 0): 11, (2, 0): 4}  # one copy per process (and interpreter)
    out = a.summary(tasks=3, size=10)
    assert out["copies"] == 2 and out["per_process"] == [4, 11] and out["expected"] == 30
