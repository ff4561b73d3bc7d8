"""What the sampler hands the model: one record per worker thread and per core, per tick.

These are the only types that cross from ``sampler`` to ``model``; both sides depend on
this module and nothing else of each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from gilviz.core.protocol import STATES  # noqa: F401 - the samples' states, re-exported


@dataclass(frozen=True, slots=True)
class ThreadRef:
    """A worker thread to sample: worker id (gilviz's), process id, kernel thread id."""

    wid: int
    pid: int
    tid: int


# Not frozen, though nothing may change it, nor its ``shares``, once the sampler made it
# (consecutive samples of a thread that stays blocked share one ``shares`` dict; the model
# re-weighs a copy): a frozen dataclass's __init__ costs six times as much, and the
# sampler makes one per worker per tick.
@dataclass(slots=True)
class ThreadSample:
    """How one worker thread spent the interval (t_ns - dt_ns, t_ns].

    ``shares`` maps each of running / runnable / gil_wait / io_wait / lock_wait to a
    fraction of the interval (they sum to 1). running and runnable come from schedstat
    deltas; the blocked remainder is attributed by what the thread was blocked in when
    sampled. ``idle`` is never set here: only the model knows whether a task was assigned.
    ``shares`` is None when the platform cannot split states (the psutil fallback).
    """

    wid: int
    t_ns: int
    dt_ns: int
    shares: dict[str, float] | None
    state: str  # the dominant state of the interval, for timelines ("n/a" if unknown)
    cpu_ns: int  # cumulative CPU time of the thread (utime+stime or schedstat run time)
    processor: int | None  # the CPU the thread last ran on, None if unknown
    letter: str  # kernel state letter (R, S, D, ...) or "?"
    syscall: str | None  # e.g. "futex", "read", None when running or unknown
    gil_holder: bool | None = None  # from the target's memory, None when not read
    #: Run/runqueue time the counters showed beyond this interval's length (schedstat is
    #: brought up to date late: at scheduler ticks, or when a queued thread gets a CPU).
    #: It belongs to earlier intervals; the model hands it back to them.
    excess_run_ns: int = 0
    excess_wait_ns: int = 0


#: Cores are measured at most this often, whatever the sampling rate: /proc/stat counts in
#: 10 ms ticks (USER_HZ), so a 20 ms window reads only 0, .5 or 1 of a core, and the file
#: is the dearest one a tick reads (it is generated whole, interrupt counts and all).
CORE_PERIOD_S = 0.1


@dataclass(frozen=True, slots=True)
class CoreSample:
    """Utilisation of each usable core over the interval, 0..1, indexed by CPU number.
    Comes with one tick in several (see CORE_PERIOD_S), over the time since the last."""

    t_ns: int
    dt_ns: int
    busy: dict[int, float]
