"""The model: folds the runner's messages and the sampler's ticks into one run's state, and
hands out immutable snapshots (for views) and the run summary (for ``--json``).

    runner messages ─┐
                     ├─> RunModel (lock; bounded ring buffers) ─> RunSnapshot / summary()
    sampler ticks ───┘

A sample says how a thread spent an interval; whether the worker had a task then (idle or
not) comes from task events, which can arrive up to a few hundred ms after the fact (they
are batched, and process workers send live starts at most every 20 ms). So samples wait
FOLD_LAG_NS before they are folded into the totals, and everything left is folded when the
run ends, with every task's exact interval known by then. Memory is bounded whatever the
run length: timelines, series and task intervals are ring buffers; latencies go into a
histogram; the whole-run history (tasks ended and time in each state, per time bucket) is a
grid whose buckets widen as the run grows.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from gilviz.core.measuring.samples import CoreSample, ThreadSample
from gilviz.core.protocol import (
    MERGE_GAP_NS,
    STATES,
    Beats,
    End,
    Failure,
    Hello,
    Message,
    Output,
    ProcessSeen,
    Refused,
    RunStatus,
    Stretch,
    TaskEnd,
    TaskStart,
    WorkerCpu,
    WorkerRss,
    WorkerSeen,
)

FOLD_LAG_NS = 300_000_000
TIMELINE_LEN = 600  # samples kept per worker for timelines (12 s at 50 Hz)
SERIES_LEN = 240  # points kept for latency and throughput series
SERIES_STEP_NS = 500_000_000
GRID_STEP_NS = 100_000_000  # the whole-run grid's finest bucket
GRID_LEN = 256  # buckets at most: past that, neighbours merge and the step doubles
HAND_BACK_NS = 250_000_000  # how far back late counter time is returned (< FOLD_LAG_NS)
BUSY = ("running", "gil_wait", "io_wait", "lock_wait", "runnable")
BLOCKED = ("gil_wait", "io_wait", "lock_wait")
# The sampler's states, each with whether time without a task in it is idle (_with_idle).
_WAITING = {"running": False, "gil_wait": False, "io_wait": True, "lock_wait": True,
            "runnable": False}  # fmt: skip


class LatencyHistogram:
    """Heartbeat lateness in µs, in log buckets 1% wide: percentiles to 1%, bounded memory."""

    RATIO = 1.01

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.n = 0
        self.max_us = 0  # exact, so the max never reads below a percentile

    def _bucket(self, us: int) -> int:
        return 0 if us <= 0 else 1 + int(math.log(us) / math.log(self.RATIO))

    def add(self, values: list[int]) -> None:
        for v in values:
            b = self._bucket(v)
            self.counts[b] = self.counts.get(b, 0) + 1
        if values:
            self.max_us = max(self.max_us, max(values))
        self.n += len(values)

    def percentile(self, q: float) -> float | None:
        """The q-quantile in ms (bucket's lower edge), None when empty."""
        if not self.n:
            return None
        rank = q * (self.n - 1)
        seen = 0
        for b in sorted(self.counts):
            seen += self.counts[b]
            if seen > rank:
                us = 0.0 if b == 0 else self.RATIO ** (b - 1)
                return us / 1000
        return None


class Grid:
    """The whole run in time buckets from its start: tasks ended (by their end time) and
    the workers' sampled time in each state (by each sample's end). Bounded whatever the
    run length: a bucket past GRID_LEN merges neighbours two by two and doubles the step."""

    def __init__(self, origin_ns: int) -> None:
        self.origin_ns = origin_ns
        self.step_ns = GRID_STEP_NS
        self.done: list[int] = []
        #: per bucket: ns in each state, and "sampled": ns sampled (a sample whose state
        #: could not be split counts there only)
        self.mix: list[dict[str, float]] = []

    def row(self, t_ns: int) -> tuple[int, int]:
        """The bucket of ``t_ns`` (created if need be) and where it ends, in ns."""
        i = max(0, (t_ns - self.origin_ns) // self.step_ns)
        while i >= GRID_LEN:
            self._coarsen()
            i = max(0, (t_ns - self.origin_ns) // self.step_ns)
        while len(self.done) <= i:
            self.done.append(0)
            self.mix.append(dict.fromkeys(_MIX_KEYS, 0.0))
        return i, self.origin_ns + (i + 1) * self.step_ns

    def _coarsen(self) -> None:
        self.step_ns *= 2
        d, m = self.done, self.mix
        self.done = [sum(d[j : j + 2]) for j in range(0, len(d), 2)]
        self.mix = [
            {k: sum(r[k] for r in m[j : j + 2]) for k in _MIX_KEYS} for j in range(0, len(m), 2)
        ]

    def seconds(self) -> tuple[tuple[float, ...], ...]:
        """Each bucket's worker time in each state (STATES order), then its time sampled."""
        return tuple(tuple(r[k] / 1e9 for k in _MIX_KEYS) for r in self.mix)


_MIX_KEYS = (*STATES, "sampled")


@dataclass
class _Worker:
    wid: int
    pid: int
    tid: int
    name: str | None = None
    tasks: int = 0
    # Local pools: the worker thread's CPU clock ("cpu" messages, absolute). Process pools:
    # the sum of its tasks' thread_time, measured in the worker ("e" messages).
    cpu_ns: int = 0
    rss: int | None = None
    current: int | None = None  # task index in progress (live view)
    current_since: int | None = None
    ends: deque = field(default_factory=lambda: deque(maxlen=4096))  # (t0, t1) of tasks
    open_starts: dict[int, int] = field(default_factory=dict)  # task -> t0, no end yet
    last_end: int = 0  # the latest task end seen: a start before it has ended already
    time_ns: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))
    sampled_ns: int = 0
    samples: int = 0
    timeline: deque = field(default_factory=lambda: deque(maxlen=TIMELINE_LEN))
    processor: int | None = None
    holder_known: int = 0  # samples where the GIL holder was read from memory
    holder: int = 0  # ... and this thread held it
    blocked_holding: int = 0  # ... held it while blocked (sleeping or in a syscall)


@dataclass(frozen=True)
class WorkerView:
    wid: int
    pid: int
    tid: int
    tasks: int
    cpu_s: float
    rss_bytes: int | None
    current_task: int | None
    states: dict[str, float] | None  # shares of sampled time, None when not measurable
    timeline: tuple[str, ...]  # oldest first, one state per folded sample
    processor: int | None
    gil_held: float | None = None  # share of samples it held the GIL (read from memory)
    blocked_holding_gil: float | None = None  # share of samples it blocked holding it
    name: str | None = None  # the thread's own name, where it was read
    sampled_s: float = 0.0  # the time its states are shares of


@dataclass(frozen=True)
class CoreView:
    cpu: int
    busy: float  # share of the last interval
    wid: int | None  # the worker that ran most on it in the last interval
    history: tuple[float, ...]


@dataclass(frozen=True)
class RunSnapshot:
    """Everything a view needs about one run at one moment; immutable."""

    workload: str
    pool: str
    workers_requested: int
    tasks_total: int
    size: int
    status: RunStatus
    elapsed_s: float
    tasks_done: int
    workers: tuple[WorkerView, ...]
    cores: tuple[CoreView, ...]
    states: dict[str, float] | None
    gil_contention: float | None
    gil_samples: int
    method: str
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    latency_series: tuple[float, ...]  # the worst wake-up's lateness, ms, per SERIES_STEP
    throughput_series: tuple[float, ...]  # tasks/s per SERIES_STEP, recent last
    cpu_s: float
    parallelism: float | None
    error: str | None
    outcome: dict[str, Any] | None
    sample_hz: float | None
    #: Core samples a second, from their measured intervals (the sampler reads /proc/stat
    #: less often than it samples threads); None before two, and in older recordings.
    core_hz: float | None = None
    holder_reads: int = 0  # samples with a GIL-holder answer read from memory
    #: A watched program's processes: (pid, command line), in the order they were seen.
    processes: tuple[tuple[int, str | None], ...] = ()
    latency_samples: int = 0  # heartbeat wake-ups measured
    #: Why GIL figures are n/a when they are for a reason other than missing samples.
    gil_note: str | None = None
    #: The interpreter the runner said it runs on (its Hello: protocol.python_facts()),
    #: None before it has said, and for a program gilviz did not start.
    python: dict[str, Any] | None = None
    #: A process or interpreter pool's start-up (End.startup), once the run has ended.
    startup: dict[str, Any] | None = None
    latency_max_ms: float | None = None  # the worst wake-up of the whole run (exact)
    #: The whole run in buckets of grid_step_s from its start (the runner's launch): tasks
    #: done by the end of each bucket (by task end times), and each bucket's worker time in
    #: each state (s, STATES order) followed by the time sampled (the rest of which could
    #: not be split into states).
    grid_step_s: float = GRID_STEP_NS / 1e9
    tasks_over_time: tuple[int, ...] = ()
    state_time: tuple[tuple[float, ...], ...] = ()


#: Why a free-threaded run has no GIL figures (gilviz has not been tested on such a build).
GIL_OFF_NOTE = (
    "n/a: the runner's interpreter runs without a GIL (free-threaded build, untested by "
    "gilviz); the other states still split"
)


class RunModel:
    """One run's state. Thread-safe: the reader and sampler threads write, views read."""

    def __init__(
        self,
        spec: Any,
        method: str = "none",
        usable_cpus: list[int] | None = None,
        started_ns: int | None = None,
    ) -> None:
        self.spec = spec
        self.method = method
        self._lock = threading.Lock()
        self.workers: dict[int, _Worker] = {}
        self.hello: Hello | None = None
        self.processes: dict[int, str | None] = {}  # a watched program's, with their commands
        self.output: list[str] = []  # the last lines the run's code printed
        self.end: End | None = None
        self.bad_input: str | None = None
        self.status = RunStatus.STARTING
        self.started_ns = time.monotonic_ns() if started_ns is None else started_ns
        self.ended_ns: int | None = None
        self._pending: deque[ThreadSample] = deque()
        self._latency = LatencyHistogram()
        self._lat_window: list[int] = []
        self._lat_series: deque[float] = deque(maxlen=SERIES_LEN)
        self._thr_series: deque[float] = deque(maxlen=SERIES_LEN)
        self._done_in_step = 0
        self._step_start = self.started_ns
        self._grid = Grid(self.started_ns)
        self._mix_t: int | None = None  # the first sample's time in the open bucket
        self._mix_end = 0  # where the open bucket ends (0: none open)
        self._mix_base: dict[str, float] = {}  # the workers' totals when it opened
        self.cores: dict[int, deque] = {c: deque(maxlen=SERIES_LEN) for c in usable_cpus or []}
        self._core_wid: dict[int, int | None] = {}
        self._core_dt: deque[int] = deque(maxlen=10)  # the last core samples' intervals
        self.sample_hz: float | None = None
        self.fatal: str | None = None  # set by the session when the runner dies
        self.fatal_kind: Failure | None = None
        #: Called under the lock with ("msg", message) and ("tick", (samples, core, now)) in
        #: the order the model sees them, so a recording replays to the same numbers.
        self.tap: Callable[[str, Any], None] | None = None
        #: Called with (wid, t_ns, dt_ns, state) for every folded sample (exports).
        self.fold_tap: Callable[[int, int, int, str], None] | None = None
        self._last_now = self.started_ns

    # --- inputs --------------------------------------------------------------------------

    def on_message(self, msg: Message) -> None:
        """One decoded runner message (``protocol.decode``)."""
        handler = self._HANDLERS.get(type(msg))
        with self._lock:
            if self.tap is not None:
                self.tap("msg", msg)
            if handler is not None:
                handler(self, msg)

    # One handler per message type, called under the lock.

    def _on_start(self, msg: TaskStart) -> None:
        w = self.workers.get(msg.wid)
        if w is not None:
            if msg.t0_ns < w.last_end:
                # A worker runs one task at a time, so this task has ended (a process
                # worker's start can come after its end: another thread forwards it).
                # Kept, it would stay open for ever, busy and one more entry per task.
                return
            w.open_starts[msg.task] = msg.t0_ns
            w.current, w.current_since = msg.task, msg.t0_ns
            if self.status is RunStatus.STARTING:
                self.status = RunStatus.RUNNING

    def _on_end(self, msg: TaskEnd) -> None:
        w = self.workers.get(msg.wid)
        if w is None:
            return
        self._close_starts(w, msg.t1_ns)
        self._busy(w, msg.t0_ns, msg.t1_ns)
        w.cpu_ns += msg.cpu_ns
        if msg.ok:
            w.tasks += 1
            self._done_in_step += 1
            i = self._grid.row(msg.t1_ns)[0]  # first: it may replace the lists
            self._grid.done[i] += 1
        if w.current == msg.task:
            w.current = w.current_since = None

    def _on_stretch(self, msg: Stretch) -> None:
        w = self.workers.get(msg.wid)
        if w is None:
            return
        t1 = msg.t1_ns
        self._close_starts(w, t1)
        self._busy(w, msg.t0_ns, t1)
        w.tasks += msg.n_ok
        self._done_in_step += msg.n_ok
        self._ended(msg.t0_ns, t1, msg.n_ok)
        if w.current_since is not None and w.current_since <= t1:
            w.current = w.current_since = None

    def _ended(self, t0: int, t1: int, n: int) -> None:
        """n tasks ended back to back within [t0, t1]: spread over the buckets it spans."""
        if n <= 0:
            return
        grid = self._grid
        last = grid.row(t1)[0]  # first: it may merge buckets
        first = grid.row(t0)[0]
        if first == last or t1 <= t0:
            grid.done[last] += n
            return
        given = 0
        for i in range(first, last + 1):
            a = max(t0, grid.origin_ns + i * grid.step_ns)
            b = min(t1, grid.origin_ns + (i + 1) * grid.step_ns)
            k = n - given if i == last else round(n * max(0, b - a) / (t1 - t0))
            k = min(k, n - given)
            grid.done[i] += k
            given += k

    @staticmethod
    def _close_starts(w: _Worker, t1: int) -> None:
        # A worker runs one task at a time: every start up to a task's end has ended.
        if w.open_starts:
            for task, since in list(w.open_starts.items()):
                if since <= t1:
                    del w.open_starts[task]

    def _on_cpu(self, msg: WorkerCpu) -> None:
        w = self.workers.get(msg.wid)
        if w is not None:
            w.cpu_ns = max(w.cpu_ns, msg.cpu_ns)

    def _on_worker(self, msg: WorkerSeen) -> None:
        self.workers[msg.wid] = _Worker(msg.wid, msg.pid, msg.tid, msg.name)

    def _on_process(self, msg: ProcessSeen) -> None:
        self.processes[msg.pid] = msg.command

    def _on_beats(self, msg: Beats) -> None:
        self._latency.add(msg.lateness_us)
        self._lat_window.extend(msg.lateness_us)

    def _on_rss(self, msg: WorkerRss) -> None:
        w = self.workers.get(msg.wid)
        if w is not None and msg.rss_bytes is not None:
            w.rss = max(w.rss or 0, msg.rss_bytes)

    def _on_hello(self, msg: Hello) -> None:
        self.hello = msg

    def _on_refused(self, msg: Refused) -> None:
        self.bad_input = msg.message

    def _on_output(self, msg: Output) -> None:
        self.output = list(msg.lines)

    def _on_run_end(self, msg: End) -> None:
        self.end = msg

    _HANDLERS: ClassVar[dict[type, Callable[[RunModel, Any], None]]] = {
        TaskStart: _on_start,
        TaskEnd: _on_end,
        Stretch: _on_stretch,
        WorkerCpu: _on_cpu,
        WorkerSeen: _on_worker,
        ProcessSeen: _on_process,
        Beats: _on_beats,
        WorkerRss: _on_rss,
        Hello: _on_hello,
        Refused: _on_refused,
        End: _on_run_end,
        Output: _on_output,
    }

    def on_tick(
        self, samples: list[ThreadSample], core: CoreSample | None, now: int | None = None
    ) -> None:
        now = time.monotonic_ns() if now is None else now
        with self._lock:
            if self.tap is not None:
                self.tap("tick", (samples, core, now))
            for sample in samples:
                if sample.excess_run_ns or sample.excess_wait_ns:
                    self._hand_back(sample)
            self._pending.extend(samples)
            if core is not None:
                self._fold_core(core, samples)
            self._fold(now - FOLD_LAG_NS)
            self._roll_series(now)

    def finish(self, status: RunStatus, now: int | None = None) -> None:
        """The run is over and every message is in: fold what is left."""
        with self._lock:
            self.ended_ns = self.ended_ns or (time.monotonic_ns() if now is None else now)
            self._fold(None)
            self._close_mix(None)
            self._roll_series(self.ended_ns, last=True)
            self.status = RunStatus(status)

    def _busy(self, w: _Worker, t0: int, t1: int) -> None:
        if t1 > w.last_end:
            w.last_end = t1
        if w.ends and 0 <= t0 - w.ends[-1][1] < MERGE_GAP_NS:
            # Back-to-back tiny tasks: one busy stretch, so the bounded deque never drops
            # intervals that samples still waiting to be folded need.
            w.ends[-1] = (w.ends[-1][0], t1)
        else:
            w.ends.append((t0, t1))
        if self.status is RunStatus.STARTING:
            self.status = RunStatus.RUNNING

    # --- folding -------------------------------------------------------------------------

    def _hand_back(self, sample: ThreadSample) -> None:
        """Move run/runqueue time the counters reported late out of the blocked shares of
        the same worker's earlier, not yet folded samples (newest first). Only time the
        kernel really counted moves, so a real wait never becomes running; the shares of
        samples still pending are recomputed here, so a replay does exactly the same.

        The re-weighed sample is a copy that replaces the original in ``_pending``: the
        caller's objects are never changed (a recording's replay feeds the same sample
        objects to more than one model, and each must start from what was recorded)."""
        ex_run, ex_wait = float(sample.excess_run_ns), float(sample.excess_wait_ns)
        pending = self._pending
        for i in range(len(pending) - 1, -1, -1):
            prev = pending[i]
            left = ex_run + ex_wait
            if left <= 0 or sample.t_ns - prev.t_ns > HAND_BACK_NS:
                break
            if prev.wid != sample.wid or not prev.shares:
                continue
            shares = dict(prev.shares)
            was = sum(shares.get(k, 0.0) for k in BLOCKED) * prev.dt_ns
            if was <= 0:
                continue
            pending[i] = replace(prev, shares=shares)
            take = min(was, left)
            for k in BLOCKED:
                shares[k] = shares.get(k, 0.0) * (1 - take / was)
            part_run = ex_run / left
            shares["running"] = shares.get("running", 0.0) + take * part_run / prev.dt_ns
            shares["runnable"] = shares.get("runnable", 0.0) + take * (1 - part_run) / prev.dt_ns
            ex_run -= take * part_run
            ex_wait -= take * (1 - part_run)

    def _busy_fraction(self, w: _Worker, a: int, b: int) -> float:
        covered = 0
        for t0, t1 in w.ends:
            if t1 > a and t0 < b:
                covered += min(t1, b) - max(t0, a)
        for t0 in w.open_starts.values():
            if t0 < b:
                covered += b - max(t0, a)
        return min(1.0, covered / (b - a)) if b > a else 0.0

    def _fold(self, horizon: int | None) -> None:
        # Runs for every sample on the sampler's thread: locals, no per-sample allocations
        # beyond the one dict of shares.
        pending, workers, tap = self._pending, self.workers, self.fold_tap
        mix_end = self._mix_end
        while pending and (horizon is None or pending[0].t_ns <= horizon):
            s = pending.popleft()
            w = workers.get(s.wid)
            dt = s.dt_ns
            if w is None or dt <= 0:
                continue
            if s.t_ns >= mix_end:
                self._close_mix(s.t_ns)
                mix_end = self._mix_end
            # Samples of a worker fold in time order: intervals that ended before this
            # one began can never matter again (keeps the scan short for tiny tasks).
            a = s.t_ns - dt
            ends = w.ends
            while ends and ends[0][1] <= a:
                ends.popleft()
            f = self._busy_fraction(w, a, s.t_ns)
            w.samples += 1
            w.sampled_ns += dt
            w.processor = s.processor
            tn = w.time_ns
            shares, state = s.shares, s.state
            waiting = _WAITING.get(state)
            if shares is None:
                tn["idle"] += (1 - f) * dt
                state = "idle" if f < 0.5 else "n/a"
            elif waiting is not None and shares.get(state) == 1.0:
                # The commonest sample: one state all interval (a thread still blocked
                # where it was, or running throughout; the sampler's shares sum to 1, so
                # the others are 0). What _with_idle and the loop below give for it, to
                # the last bit but for 1 - (1 - f) against f, for a fraction of the cost.
                if f >= 1.0 or not waiting:
                    tn[state] += dt
                else:
                    if f:
                        tn[state] += f * dt
                    tn["idle"] += (1.0 - f) * dt
                    if f < 0.5:
                        state = "idle"
            else:
                shares = _with_idle(shares, f)
                state, best = "idle", -1.0
                for k, v in shares.items():  # STATES order: ties go to the first
                    if v:
                        tn[k] += v * dt
                    if v > best:
                        state, best = k, v
            w.timeline.append(state)
            if s.gil_holder is not None:
                w.holder_known += 1
                if s.gil_holder:
                    w.holder += 1
                    if s.letter in ("S", "D"):
                        w.blocked_holding += 1
            if tap is not None:
                tap(s.wid, s.t_ns, dt, state)

    # The grid's state mix costs nothing per sample: samples fold in time order, so when one
    # falls past the open bucket, what the workers' totals gained since it opened is that
    # bucket's (a sum over the workers, once a bucket).

    def _totals(self) -> dict[str, float]:
        # Each worker's time_ns holds STATES in order (dict.fromkeys): columns of values.
        rows = [(*w.time_ns.values(), w.sampled_ns) for w in self.workers.values()]
        if not rows:
            return dict.fromkeys(_MIX_KEYS, 0.0)
        return dict(zip(_MIX_KEYS, map(sum, zip(*rows, strict=True)), strict=True))

    def _close_mix(self, t_ns: int | None) -> None:
        """Add the open bucket's gains to the grid; open the bucket of ``t_ns``."""
        now = self._totals()
        if self._mix_t is not None:
            row = self._grid.mix[self._grid.row(self._mix_t)[0]]
            for k, base in self._mix_base.items():
                row[k] += now[k] - base
        self._mix_base = now
        if t_ns is None:
            self._mix_t, self._mix_end = None, 0
        else:
            self._mix_t = t_ns
            self._mix_end = self._grid.row(t_ns)[1]

    def _fold_core(self, core: CoreSample, samples: list[ThreadSample]) -> None:
        best: dict[int, tuple[float, int]] = {}
        for s in samples:
            if s.processor is None or not s.shares:
                continue
            ran = s.shares.get("running", 0.0)
            if ran > best.get(s.processor, (0.0, -1))[0]:
                best[s.processor] = (ran, s.wid)
        if core.dt_ns > 0:
            self._core_dt.append(core.dt_ns)
        for cpu, busy in core.busy.items():
            self.cores.setdefault(cpu, deque(maxlen=SERIES_LEN)).append(busy)
            self._core_wid[cpu] = best[cpu][1] if cpu in best else None

    def _roll_series(self, now: int, last: bool = False) -> None:
        """Close the current step (``last``: the run's final, maybe shorter, one)."""
        if now - self._step_start < (1 if last else SERIES_STEP_NS):
            return
        span = (now - self._step_start) / 1e9
        self._thr_series.append(self._done_in_step / span)
        self._done_in_step = 0
        if self._lat_window:
            # The worst wake-up of the step: the run's max is the max of these, so no step
            # reads below a percentile of the whole run.
            self._lat_series.append(max(self._lat_window) / 1000)
            self._lat_window = []
        self._step_start = now

    # --- outputs -------------------------------------------------------------------------

    def _states_of(self, w: _Worker) -> dict[str, float] | None:
        if not w.sampled_ns or self.method.startswith("psutil") or self.method == "none":
            return None
        return {k: w.time_ns[k] / w.sampled_ns for k in STATES}

    def _state_time(self) -> tuple[tuple[float, ...], ...]:
        if not self._states_known():
            return ()
        rows = self._grid.seconds()
        if self._mix_t is None:
            return rows
        # the open bucket, as far as it has been folded
        i = self._grid.row(self._mix_t)[0]
        now = self._totals()
        gain = tuple((now[k] - self._mix_base[k]) / 1e9 for k in _MIX_KEYS)
        return (*rows[:i], tuple(a + b for a, b in zip(rows[i], gain, strict=True)), *rows[i + 1 :])

    def _states_known(self) -> bool:
        return not (self.method.startswith("psutil") or self.method == "none")

    def _run_states(self) -> dict[str, float] | None:
        total = sum(w.sampled_ns for w in self.workers.values())
        if not total or not self._states_known():
            return None
        return {k: sum(w.time_ns[k] for w in self.workers.values()) / total for k in STATES}

    def _gil_off(self) -> bool:
        """The runner said its interpreter runs without a GIL (a free-threaded build)."""
        return self.hello is not None and self.hello.python.get("gil_enabled") is False

    def _contention(self) -> float | None:
        if self._gil_off():
            return None  # no GIL to wait for: n/a, not 0 (see gil_note)
        states = self._run_states()
        if states is None:
            return None
        busy = sum(states[k] for k in BUSY)
        return states["gil_wait"] / busy if busy > 0 else None

    def wall_s(self) -> float:
        if self.end is not None and self.end.wall_s is not None:
            return self.end.wall_s
        end = self.ended_ns or time.monotonic_ns()
        return (end - self.started_ns) / 1e9

    def cpu_s(self) -> float:
        return sum(w.cpu_ns for w in self.workers.values()) / 1e9

    def snapshot(self) -> RunSnapshot:
        with self._lock:
            workers = tuple(
                WorkerView(
                    wid=w.wid,
                    pid=w.pid,
                    tid=w.tid,
                    tasks=w.tasks,
                    cpu_s=w.cpu_ns / 1e9,
                    rss_bytes=w.rss,
                    current_task=w.current,
                    states=self._states_of(w),
                    timeline=tuple(w.timeline),
                    processor=w.processor,
                    gil_held=w.holder / w.holder_known if w.holder_known else None,
                    blocked_holding_gil=(
                        w.blocked_holding / w.holder_known if w.holder_known else None
                    ),
                    name=w.name,
                    sampled_s=w.sampled_ns / 1e9,
                )
                for w in sorted(self.workers.values(), key=lambda w: w.wid)
            )
            cores = tuple(
                CoreView(cpu, hist[-1] if hist else 0.0, self._core_wid.get(cpu), tuple(hist))
                for cpu, hist in sorted(self.cores.items())
            )
            wall = self.wall_s()
            cpu = self.cpu_s()
            done = sum(w.tasks for w in self.workers.values())
            return RunSnapshot(
                workload=self.spec.workload,
                pool=self.spec.pool,
                workers_requested=self.spec.workers,
                tasks_total=self.spec.tasks,
                size=self.spec.size,
                status=self.status,
                elapsed_s=wall,
                tasks_done=done,
                workers=workers,
                cores=cores,
                states=self._run_states(),
                gil_contention=self._contention(),
                gil_samples=sum(w.samples for w in self.workers.values()),
                method=self.method,
                latency_p50_ms=self._latency.percentile(0.5),
                latency_p99_ms=self._latency.percentile(0.99),
                latency_series=tuple(self._lat_series),
                throughput_series=tuple(self._thr_series),
                cpu_s=cpu,
                parallelism=cpu / wall if wall > 0 else None,
                error=self.error(),
                outcome=self.end.outcome if self.end is not None else None,
                sample_hz=self.sample_hz,
                core_hz=len(self._core_dt) * 1e9 / sum(self._core_dt) if self._core_dt else None,
                holder_reads=sum(w.holder_known for w in self.workers.values()),
                latency_samples=self._latency.n,
                gil_note=GIL_OFF_NOTE if self._gil_off() else None,
                processes=tuple(self.processes.items()),
                python=dict(self.hello.python) if self.hello is not None else None,
                startup=self.startup,
                latency_max_ms=self._latency.max_us / 1000 if self._latency.n else None,
                grid_step_s=self._grid.step_ns / 1e9,
                tasks_over_time=tuple(itertools.accumulate(self._grid.done)),
                state_time=self._state_time(),
            )

    def error(self) -> str | None:
        if self.fatal:
            return self.fatal
        return self.end.error if self.end is not None else None

    def failure(self) -> Failure | None:
        """Why the run did not finish, as a kind (None when it did, or has not ended)."""
        if self.fatal_kind is not None:
            return self.fatal_kind
        return self.end.failure if self.end is not None else None

    def fail(self, kind: Failure, text: str) -> None:
        """The session's word on a runner that ended without saying how."""
        self.fatal_kind, self.fatal = kind, text

    @property
    def pickle(self) -> dict[str, Any] | None:
        return self.end.pickle if self.end is not None else None

    @property
    def in_flight(self) -> dict[str, Any] | None:
        return self.end.in_flight if self.end is not None else None

    @property
    def startup(self) -> dict[str, Any] | None:
        """A process or interpreter pool's start-up, measured in the runner (End)."""
        return self.end.startup if self.end is not None else None


def _with_idle(shares: dict[str, float], busy: float) -> dict[str, float]:
    """A sample's shares with ``idle`` added (keys in STATES order). ``busy`` is the part of
    the interval the worker had a task.

    Idle is waiting for work, and a worker waits for work blocked outside the GIL (the
    pool's queue is a lock; a process worker reads a pipe). So the part without a task is
    idle only as far as the sampler saw the thread blocked outside the GIL: time it ran,
    waited for a core, or waited for the GIL stays what it was, task or not. (A thread-pool
    worker between tiny tasks mostly waits for the GIL to take the next one: that is
    contention, not idleness.) Within a task nothing is idle."""
    g = shares.get
    run, rq = g("running", 0.0), g("runnable", 0.0)
    gil, io, lock = g("gil_wait", 0.0), g("io_wait", 0.0), g("lock_wait", 0.0)
    total = run + rq + gil + io + lock
    if total <= 0:  # nothing known of the interval: the task's part counts as blocked
        return {"running": 0.0, "gil_wait": 0.0, "io_wait": 0.0, "lock_wait": busy,
                "runnable": 0.0, "idle": 1.0 - busy}  # fmt: skip
    if not 0.999999 < total < 1.000001:  # keep the sum at 1 (fixtures, foreign recordings)
        run, rq, gil, io, lock = run / total, rq / total, gil / total, io / total, lock / total
    waiting = io + lock
    idle = min(max(0.0, 1.0 - busy), waiting)
    if idle > 0:
        k = (waiting - idle) / waiting
        io, lock = io * k, lock * k
    return {"running": run, "gil_wait": gil, "io_wait": io, "lock_wait": lock,
            "runnable": rq, "idle": idle}  # fmt: skip
