"""How long a run would take, estimated from a run of the same workload measured on this
machine: that run's rate of work (tasks done × size, per second of wall time) applied to the
new run's tasks × size. The dashboard warns with it before a run that would take very long.

The scaling is linear in tasks × size and ignores a change of pool size (threads that hold
the GIL do not get faster with more of them; processes do, up to the cores): the estimate
says which run it came from, so that a reader can judge it. No run measured: no estimate.

Plain Python: no Textual.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gilviz.core.protocol import POOL_NAMES


@dataclass(frozen=True)
class Estimate:
    seconds: float
    #: the measured run it scales, in words: "crunch on threads ×4, 4 × 10M in 2.10 s"
    basis: str

    def text(self) -> str:
        return (
            f"about {duration(self.seconds)} (estimated from {self.basis} measured here, "
            "scaled to tasks × size)"
        )


def duration(seconds: float) -> str:
    """42 -> "42 s", 750 -> "13 min", 11000 -> "3.1 h", 400000 -> "4.6 days"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _compact(n: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{n:g}"


def _usable(run: dict[str, Any], workload: str) -> bool:
    return (
        run.get("workload") == workload
        and not run.get("error")
        and isinstance(run.get("wall_s"), int | float)
        and run["wall_s"] > 0
        and isinstance(run.get("size"), int)
        and run["size"] > 0
        and isinstance(_done(run), int)
        and _done(run) > 0
    )


def _done(run: dict[str, Any]) -> Any:
    # A run's JSON entry counts the tasks done; the reference cache keeps the tasks asked
    # (it keeps runs without an error only when they finished).
    return run.get("tasks_done", run.get("tasks"))


def estimate(
    workload: str, pool: str, workers: int, tasks: int, size: int | None, runs: Iterable[dict]
) -> Estimate | None:
    """The wall time of ``tasks`` tasks of ``size`` on ``pool`` ×``workers``, from the best
    matching run among ``runs`` (JSON entries of runs measured here): the same pool and
    size of pool, else the same pool, else any pool; within those, the longest run (its
    start-up weighs least). None when no run of ``workload`` with a size was measured."""
    if size is None or size <= 0 or tasks <= 0:
        return None
    found = [r for r in runs if _usable(r, workload)]
    for tier in (
        [r for r in found if r.get("pool") == pool and r.get("pool_size") == workers],
        [r for r in found if r.get("pool") == pool],
        found,
    ):
        if tier:
            run = max(tier, key=lambda r: r["wall_s"])
            break
    else:
        return None
    rate = _done(run) * run["size"] / run["wall_s"]
    name = POOL_NAMES.get(run.get("pool") or "", run.get("pool") or "?")
    basis = (
        f"{workload} on {name} ×{run.get('pool_size') or '?'}, "
        f"{_done(run)} × {_compact(run['size'])} in {run['wall_s']:.2f} s"
    )
    return Estimate(tasks * size / rate, basis)
