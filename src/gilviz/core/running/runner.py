"""The runner: a child process of gilviz that hosts the pool and runs the tasks.

    gilviz ──spec (stdin, first line)──> runner ──submit──> pool (serial | thread | process)
      ^  <──control (stdin: stop, switch)──┘ │                 │
      └──── messages (JSON lines on EVENT_FD, batched every 100 ms) <── task events, heartbeat

Workers never run in the gilviz process, so the UI neither slows the work nor takes part in
its GIL contention. The runner is started as ``python -m gilviz.core.running.runner
EVENT_FD`` (any interpreter that can import this package: ``--python``), imports only the
stdlib, the protocol, ``workloads`` and ``heartbeat``, and ends itself when gilviz goes
away (stdin EOF, PR_SET_PDEATHSIG). Process-pool workers watch their parent the same way.

Each batch is one JSON line of messages, written every FLUSH_S; the messages, the control
lines and the worker processes' queue items are those of ``gilviz.core.protocol``.

Tasks are submitted a window at a time and results dropped once measured, so the runner's
memory does not grow with the task count (a million tasks or ten thousand: see AHEAD_*).
"""

from __future__ import annotations

import ast
import collections
import concurrent.futures as cf
import itertools
import json
import multiprocessing
import multiprocessing.connection
import multiprocessing.util
import os
import pickle
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from gilviz.core.protocol import (
    LOCAL_POOLS,
    MERGE_GAP_NS,
    RUNNER_STOP_GRACE_S,
    Beats,
    End,
    Failure,
    Hello,
    ProcHello,
    ProcStart,
    Refused,
    Stop,
    Stretch,
    Switch,
    TaskEnd,
    TaskStart,
    WorkerCpu,
    WorkerRss,
    WorkerSeen,
    decode_control,
    encode,
    python_facts,
)
from gilviz.core.running import interp_task, workloads
from gilviz.core.running.heartbeat import PROCESS_BURST_S, Heartbeat

# Every wake-up of a thread in the runner takes the GIL from a local pool's workers (a
# forced hand-off, when they compute). So the runner's own threads wake as seldom as the
# live view allows: the flusher every FLUSH_S (a task's events then reach the model well
# within its fold lag, model.FOLD_LAG_NS), the collector of a process pool every
# COLLECT_S, and a local pool's waiter only when its last task ends or on a stop
# (LOCAL_WAIT_S is a safety net).
FLUSH_S = 0.1
COLLECT_S = 0.1
LOCAL_WAIT_S = 1.0
PROCESS_START_EVERY_NS = 20_000_000  # process workers send live starts at most every 20 ms
# A process worker's watcher thread: how often it looks while it holds back a task start,
# and otherwise (each look takes the GIL from the task: a forced hand-off when it computes).
# Both are below the model's fold lag, so a start that waited is still placed in time.
WATCH_BUSY_S = 0.05
# The start-up figures (End.startup) look at the first tasks only: memory stays flat.
STARTUP_SPANS = 1024
WATCH_IDLE_S = 0.25
# Tasks in flight (submitted, not finished): the runner keeps at most a window of them and
# refills it when half has drained, so memory stays flat whatever --tasks says. The window is
# a few per worker, but never less than AHEAD_MIN: a refill wakes the runner's main thread
# (a GIL request in a thread pool), and with tiny tasks that must stay rare (once per
# AHEAD_MIN // 2 tasks). Process and interpreter pools count submissions (a chunk each) and
# also keep the pickled arguments in flight under AHEAD_BYTES, at two per worker at least.
AHEAD_PER_WORKER = 4
AHEAD_MIN = 512
AHEAD_BYTES = 64 << 20
SERIAL_TOKENS = 1024  # the serial loop hands its tasks tokens a block at a time
# Messages waiting in the runner for gilviz: past this, the collector of a process pool
# writes them out itself before it takes more results (the pipe then holds it back while
# gilviz catches up, and no refill happens meanwhile).
EMIT_BACKLOG = 50_000


def set_pdeathsig(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send us ``sig`` when our parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _peak_rss() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib if sys.platform == "darwin" else kib * 1024


def _thread_cpu_clock(tid: int) -> int | None:
    """The clock id of a thread's CPU time, readable from any thread of the process (Linux:
    what glibc's pthread_getcpuclockid computes, but from the tid, so a thread that has
    ended gives EINVAL instead of undefined behaviour). None elsewhere."""
    return (~tid << 3) | 6 if sys.platform.startswith("linux") else None


class Lane:
    """One local worker thread's task bookkeeping, lock-free. The worker (Runner._local_task,
    the hot path of tiny tasks) takes its open stretch out of ``slot``, extends it or starts
    a new one, and puts it back; the flusher takes whatever is in ``slot`` and ``closed``.
    list.pop/append and deque.append/popleft are atomic, so the two never both own a
    stretch, and a task costs no lock and no syscall."""

    __slots__ = (
        "wid", "clock", "base", "slot", "closed", "running", "sent", "cpu_ns", "cpu_sent",
        "done", "tally",
    )  # fmt: skip

    def __init__(self, wid: int, tid: int, tally: Any = None) -> None:
        self.wid = wid
        self.clock = _thread_cpu_clock(tid)
        # Made on the worker's first task, in its thread: CPU from here on is the worker's
        # (the serial runner's main thread has spent some on starting Python).
        self.base = time.thread_time_ns()
        self.slot: list[list[int]] = []  # the open stretch: [last task, t0, t1, n_ok, n_failed]
        self.closed: collections.deque[list[int]] = collections.deque()  # ended by a gap
        self.running: tuple[int, int] | None = None  # (task, t0) in progress
        self.sent: int | None = None  # task whose start was sent
        self.cpu_ns: int | None = None
        self.cpu_sent: int | None = None
        self.done = 0  # tasks that returned, in the stretches taken so far
        self.tally = tally  # what the workload's summary needs of their results, if any

    def take(self) -> list[list[int]]:
        """The stretches so far, the open one included (the model joins the worker's next
        one back on: it starts less than MERGE_GAP_NS after this one's end), oldest first."""
        out = []
        try:
            out.append(self.slot.pop())
        except IndexError:  # the worker has it in hand this instant: next flush
            pass
        closed = self.closed
        while closed:
            out.append(closed.popleft())
        for st in out:
            self.done += st[3]
        # A stretch the worker closed after our pop can come out of `closed` too: order them.
        out.sort(key=lambda st: st[1])
        return out

    def read_cpu(self) -> int | None:
        if self.clock is None:  # no readable per-thread clock: the worker reads its own
            return self.cpu_ns
        try:
            self.cpu_ns = time.clock_gettime_ns(self.clock) - self.base
        except OSError:  # the thread has ended: its last reading stands
            self.clock = None
        return self.cpu_ns


class Emitter:
    """Thread-safe, batched writer of messages to gilviz."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        # Held from taking a batch until it is written: two flushes (the flusher thread's
        # and close()'s) must not reorder batches, nor may close() return while an earlier
        # batch is half written (the runner os._exit()s right after).
        self._write_lock = threading.Lock()
        self._buf: list[Any] = []
        self._lanes: list[Lane] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gilviz-emitter", daemon=True)
        self._thread.start()

    def send(self, msg: Any) -> None:
        # The hot path (a worker thread finishing a task) only appends; encoding happens in
        # the flusher, one json.dumps per batch, so tiny tasks pay as little as possible.
        with self._lock:
            self._buf.append(msg)

    def backlog(self) -> int:
        """Messages waiting for the next flush."""
        return len(self._buf)

    def add_lane(self, lane: Lane) -> None:
        with self._lock:
            self._lanes = [*self._lanes, lane]  # copied: readers hold on to the old list

    @property
    def lanes(self) -> list[Lane]:
        return self._lanes

    def flush(self) -> None:
        with self._write_lock:
            with self._lock:
                msgs, self._buf = self._buf, []
                # Under the same lock: a lane is added after its worker's announcement was
                # queued, so every lane seen here has its announcement in this batch or an
                # earlier one (read after the lock, a new worker's first stretch could go
                # out before it, and the model would drop it).
                lanes = self._lanes
            # After the batch's messages. A start is sent only for a task still running
            # now: a stretch carries its own times.
            for lane in lanes:
                for last, t0, t1, n_ok, n_failed in lane.take():
                    msgs.append(Stretch(lane.wid, last, t0, t1, n_ok, n_failed))
                running = lane.running
                if running is not None and lane.sent != running[0]:
                    lane.sent = running[0]
                    msgs.append(TaskStart(lane.wid, *running))
                cpu = lane.read_cpu()
                if cpu is not None and cpu != lane.cpu_sent:
                    lane.cpu_sent = cpu
                    msgs.append(WorkerCpu(lane.wid, cpu))
            if not msgs:
                return
            wire = [encode(m) for m in msgs]
            data = (json.dumps(wire, separators=(",", ":")) + "\n").encode()
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError:  # gilviz is gone: nothing to tell anyone
                os._exit(0)

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_S):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()


class Workers:
    """Maps (pid, tid) to gilviz's worker ids, announcing each new one."""

    def __init__(self, emit: Emitter) -> None:
        self._emit = emit
        self._ids: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()

    def wid(self, pid: int, tid: int) -> int:
        key = (pid, tid)
        wid = self._ids.get(key)
        if wid is None:
            with self._lock:
                wid = self._ids.get(key)
                if wid is None:
                    wid = self._ids[key] = len(self._ids)
                    self._emit.send(WorkerSeen(wid, pid, tid))
                    # At once, not at the next flush: the sampler starts watching a worker
                    # when it hears of it (once per worker; a short run would lose its start).
                    self._emit.flush()
        return wid

    def __len__(self) -> int:
        return len(self._ids)

    def pids(self) -> set[int]:
        return {pid for pid, _ in self._ids}


# --- code that runs in process-pool workers ----------------------------------------------

_w: dict[str, Any] = {}


def _proc_init(
    queue: Any,
    cancel: Any,
    workload: str,
    spread: bool,
    params: dict[str, Any],
    heartbeat: Any,  # a shared int: 0 until a worker has claimed the heartbeat; None: off
    switch_interval: float | None,
    runner_pid: int,
) -> None:
    set_pdeathsig()
    # Our parent is the runner (fork, spawn) or the forkserver; either way the runner must
    # be alive. It may already be gone if it died while we were starting (then PDEATHSIG
    # was never armed against it): check the runner itself, not only a change of parent.
    parent = os.getppid()
    if not _alive(runner_pid):
        os._exit(1)
    _w.update(
        queue=queue,
        put_lock=threading.Lock(),
        workload=workload,
        spread=spread,
        last_send=0,
        pending=None,
    )
    workloads.params.update(params)
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)

    def watch() -> None:
        # Stops the worker's tasks when the run is stopped (cooperatively), ends the worker
        # when its parent is gone, and sends a task start that _proc_task held back, so a
        # long task never looks idle. It sleeps in the stop semaphore's acquire, without the
        # GIL: a stop wakes it at once. The semaphore has no owner, so a worker that dies
        # (segfault) cannot leave it held against the runner or its siblings; each watcher
        # takes one token of the runner's one per worker, then only sleeps.
        stopped = False
        while True:
            wait = WATCH_BUSY_S if _w["pending"] is not None else WATCH_IDLE_S
            if stopped:
                time.sleep(wait)
            elif cancel.acquire(timeout=wait):
                stopped = True
                workloads.request_cancel()
            if os.getppid() != parent or not _alive(runner_pid):
                os._exit(1)
            pending = _w["pending"]
            if (
                pending is not None
                and time.monotonic_ns() - pending.t0_ns >= PROCESS_START_EVERY_NS
            ):
                _w["pending"] = None
                _w["last_send"] = time.monotonic_ns()
                _put(pending)

    threading.Thread(target=watch, name="gilviz-watch", daemon=True).start()
    # Announce ourselves before any task: a worker that never gets one is idle, and must
    # be seen (and sampled) as such.
    # A worker that exits while one of its threads is inside queue.put() leaves the queue's
    # lock (a semaphore shared by every worker) held for good, and the next worker to put
    # anything hangs: at exit, after the heartbeat's last batch, puts are shut for good.
    multiprocessing.util.Finalize(None, _shut_puts, exitpriority=5)
    _put(ProcHello(os.getpid(), threading.get_native_id()))
    # One heartbeat per pool, in the first worker to start: every worker process has the
    # same shape (one task thread), and a heartbeat in each costs the work it measures
    # (docs/measurement.md, "Cost").
    if heartbeat is not None:
        with heartbeat.get_lock():
            mine = heartbeat.value == 0
            heartbeat.value = 1
        if mine:
            pid = os.getpid()
            beat = Heartbeat(lambda batch: _put(Beats(pid, batch)), PROCESS_BURST_S)
            beat.start()
            # Send the last batch when the worker exits (short runs end before a flush).
            multiprocessing.util.Finalize(None, beat.stop, exitpriority=10)


def _put(msg: Any) -> None:
    """A message to the runner, from any thread of a process worker (see _shut_puts)."""
    with _w["put_lock"]:
        _w["queue"].put(msg)


def _shut_puts() -> None:
    # Taken and kept: a daemon thread that puts later waits here, outside the queue's lock.
    _w["put_lock"].acquire()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _proc_task(index: int, blob: bytes) -> tuple:
    pid, tid = os.getpid(), threading.get_native_id()
    t0 = time.monotonic_ns()
    start = ProcStart(pid, tid, index, t0)
    if t0 - _w["last_send"] >= PROCESS_START_EVERY_NS:
        _w["last_send"] = t0
        _w["pending"] = None
        _put(start)
    else:
        _w["pending"] = start
    c0 = time.thread_time_ns()
    p0 = time.perf_counter_ns()
    arg = pickle.loads(blob)
    unpickle_ns = time.perf_counter_ns() - p0
    fn = workloads.resolve(_w["workload"], _w["spread"])
    result = fn(arg)
    p1 = time.perf_counter_ns()
    out = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    pickle_ns = time.perf_counter_ns() - p1
    cpu = time.thread_time_ns() - c0
    if _w["pending"] is start:  # it ended before the watcher sent it: the end says it all
        _w["pending"] = None
    return pid, tid, index, t0, time.monotonic_ns(), cpu, unpickle_ns, pickle_ns, _peak_rss(), out


def _proc_chunk(first: int, blobs: list[bytes]) -> list[tuple]:
    """Tasks first, first + 1, ... in one submission (--chunksize): what
    ProcessPoolExecutor.map sends a worker, but submitted by the runner's window."""
    outs = []
    for k, blob in enumerate(blobs):
        try:
            outs.append(_proc_task(first + k, blob))
        except BaseException as exc:
            # Travels with the pickled exception (its __dict__), so the error names the task.
            try:
                exc.gilviz_task = first + k  # type: ignore[attr-defined]
            except AttributeError:
                pass
            raise
    return outs


# --- the runner itself -------------------------------------------------------------------


class Runner:
    def __init__(self, spec: dict[str, Any], emit: Emitter) -> None:
        self.spec = spec
        self.emit = emit
        self.workers = Workers(emit)
        self._wake = threading.Event()  # the collector: something to act on
        # One token per submission in flight (a task, or a chunk of a process pool's),
        # appended before it is submitted and popped once when it ends (by the task itself
        # in local pools, by its future's done-callback in _collect): atomic, no lock. Its
        # length is what the window bounds. A local pool's tokens at the low-water mark and
        # below are True: popping one wakes the main thread to refill (see _run_pool).
        self._left: list[bool | None] = []
        self._fail_lock = threading.Lock()
        self._procs: dict[int, Any] = {}  # process pools: pid -> Process, see _known_procs
        self.stop_requested = threading.Event()
        self.error: str | None = None  # for people
        self.failure: Failure | None = None  # what gilviz decides on
        self.done = 0
        self.pickle = {"args_bytes": 0, "args_s": 0.0, "results_bytes": 0, "results_s": 0.0}
        # Process and interpreter pools: when the pool was asked for, each task's start and
        # end (monotonic ns, the same clock in every process), and the start method used.
        self.pool_t0: int | None = None
        self.task_spans: list[tuple[int, int]] = []
        self.start_method: str | None = None
        self.executor: cf.Executor | None = None
        self.cancel_sem: Any = None  # process pools: a token per worker on a stop
        self.killed = False
        #: What the pool said when handed an argument that cannot be copied (a lock).
        self.refused: str | None = None
        name = spec["workload"]
        builtin = workloads.describe(name)
        # A user function gets --args (a literal: a tuple gives several arguments), or the
        # size when only --size was given; the call is checked before any task runs.
        args = _literal(spec["args"]) if spec.get("args") is not None else None
        if builtin is None:
            workloads.check_call(name, args, spec["size"])
        self.spread = args is not None
        self.fn = workloads.resolve(name, self.spread)
        make_arg = builtin.make_arg if builtin and builtin.make_arg else None
        if self.spread:
            self.arg: Any = args
        else:
            self.arg = make_arg(spec["size"]) if make_arg else spec["size"]
        # What the workload's summary needs of the results (a fold), never the results.
        self.make_tally = builtin.tally if builtin else None
        self.tally = self.make_tally() if self.make_tally is not None else None
        # Submissions in flight at most (the window), tasks per submission, and the most
        # there ever were (after each refill, the only time the count grows).
        self.chunk = 1
        self.window = 1 if spec["pool"] == "serial" else self._window(1)
        self.peak = 0
        self._local_task = self._make_local_task()

    def _window(self, chunk: int, arg_bytes: int = 0) -> int:
        workers = self.spec["workers"]
        n = max(AHEAD_PER_WORKER * workers, -(-AHEAD_MIN // chunk))
        if arg_bytes:
            n = min(n, max(2 * workers, AHEAD_BYTES // (arg_bytes * chunk)))
        return n

    def _make_local_task(self) -> Callable[[int], None]:
        """The function each task of a local pool (serial, thread, free-threaded) runs in,
        the hot path of tiny tasks: two monotonic clock reads (vDSO) and a few list
        operations, no lock, no syscall. The task keeps its own result and reports its own
        failure, so nobody waits on its future. A closure, so that what it uses are cells,
        not attribute lookups (~45 ns of the ~0.45 µs a method cost)."""
        tls, fn, arg, has_tally = threading.local(), self.fn, self.arg, self.tally is not None
        now, new_lane, fail, left, wake = (
            time.monotonic_ns,
            self._new_lane,
            self._fail,
            self._left,
            self._wake,
        )
        woken = wake.is_set
        cancelled = workloads.Cancelled

        def local_task(index: int) -> None:
            try:
                try:
                    lane = tls.lane
                except AttributeError:
                    lane = tls.lane = new_lane()
                t0 = now()
                lane.running = (index, t0)
                ok = False
                try:
                    result = fn(arg)
                    ok = True
                    if has_tally:
                        lane.tally.add(result)
                finally:
                    # Inlined, being the hot path: see Lane.
                    t1 = now()
                    lane.running = None
                    if lane.clock is None:
                        lane.cpu_ns = time.thread_time_ns() - lane.base
                    slot = lane.slot
                    try:
                        st = slot.pop()
                    except IndexError:  # the flusher took it
                        st = None
                    if st is not None and t0 - st[2] < MERGE_GAP_NS:
                        st[0] = index
                        st[2] = t1
                        st[3 if ok else 4] += 1
                    else:
                        if st is not None:
                            lane.closed.append(st)
                        st = [index, t0, t1, 1, 0] if ok else [index, t0, t1, 0, 1]
                    slot.append(st)
            except cancelled:
                raise
            except BaseException as exc:
                fail(_task_error(index, exc))
                raise
            finally:
                # Atomic: one token per task, whatever happened. A True one means half the
                # window has drained; an empty list, all of it. Either wakes the main thread
                # once, until it has looked (it clears the event before it looks).
                if (left.pop() is not None or not left) and not woken():
                    wake.set()

        return local_task

    def _new_lane(self) -> Lane:
        tid = threading.get_native_id()
        tally = self.make_tally() if self.make_tally is not None else None
        lane = Lane(self.workers.wid(os.getpid(), tid), tid, tally)
        self.emit.add_lane(lane)
        return lane

    def _set_error(self, kind: Failure, text: str) -> None:
        """The first failure is the run's (a stop's own wording gives way to a real one)."""
        with self._fail_lock:
            if self.failure is None or (self.failure is Failure.STOPPED and not kind.is_stop):
                self.failure, self.error = kind, text

    def _fail(self, error: str) -> None:
        self._set_error(Failure.TASK_RAISED, error)
        self.request_stop()

    def _gather_local(self) -> None:
        # The workers' stretches (which count their tasks) and CPU clocks, while their
        # threads still exist, and no later: the runner's wrap-up is not their work.
        self.emit.flush()
        lanes = self.emit.lanes
        for lane in lanes:
            lane.clock = None
        self.done = sum(lane.done for lane in lanes)
        if self.tally is not None:
            for lane in lanes:
                if lane.tally is not None:
                    self.tally.merge(lane.tally)

    def request_stop(self) -> None:
        first = not self.stop_requested.is_set()
        self.stop_requested.set()
        self._wake.set()
        workloads.request_cancel()
        if first and self.cancel_sem is not None:
            for _ in range(self.spec["workers"]):
                self.cancel_sem.release()

    def run(self) -> None:
        pool = self.spec["pool"]
        t0 = time.monotonic_ns()
        try:
            if pool == "serial":
                self._run_serial()
            elif pool in ("thread", "free-threaded"):
                self._run_pool(cf.ThreadPoolExecutor(self.spec["workers"], "gilviz-worker"))
            elif pool == "process":
                self._run_process()
            elif pool == "interpreter":
                self._run_interpreter()
            else:
                self._set_error(Failure.UNAVAILABLE, f"unknown pool {pool!r}")
        except BrokenProcessPool as exc:  # a worker died while tasks were still submitted
            self._set_error(*self._describe_failure(None, exc))
        except BaseException as exc:  # the run failed; report it rather than die silently
            self._set_error(Failure.RUNNER_ERROR, f"{type(exc).__name__}: {exc}")
        wall_s = (time.monotonic_ns() - t0) / 1e9
        if self.stop_requested.is_set() and self.error is None and self.done < self.spec["tasks"]:
            self._set_error(Failure.STOPPED, "stopped")
        outcome = None
        if self.refused is not None:
            outcome = {"refused": self.refused}
        elif self.tally is not None and self.error is None:
            try:
                outcome = self.tally.summary(self.spec["tasks"], self.spec["size"])
            except Exception as exc:
                outcome = {"error": f"{type(exc).__name__}: {exc}"}
        if pool in LOCAL_POOLS:
            rss = _peak_rss()
            for wid in range(len(self.workers._ids)):
                self.emit.send(WorkerRss(wid, rss))
        self.emit.send(
            End(
                wall_s=wall_s,
                tasks_done=self.done,
                error=self.error,
                failure=self.failure,
                pickle=self.pickle if pool in ("process", "interpreter") else None,
                outcome=outcome,
                in_flight={"bound": self.window, "peak": self.peak, "chunk": self.chunk},
                startup=self._startup(),
            )
        )

    def _startup(self) -> dict[str, Any] | None:
        """A process or interpreter pool's start-up apart from its work: from asking for
        the pool to its first task's start, that first task's wall time, and the median
        wall time of the tasks after it (the steady state, from the first STARTUP_SPANS)."""
        if self.pool_t0 is None or not self.task_spans:
            return None
        spans = sorted(self.task_spans)
        first_t0, first_t1 = spans[0]
        rest = sorted(t1 - t0 for t0, t1 in spans[1:])
        return {
            "pool_start_s": max(0, first_t0 - self.pool_t0) / 1e9,
            "first_task_s": (first_t1 - first_t0) / 1e9,
            "steady_task_s": rest[len(rest) // 2] / 1e9 if rest else None,
            "start_method": self.start_method,
            "method": "the runner's monotonic clock: pool asked for, each task's start and end",
        }

    def _run_serial(self) -> None:
        task, stopped, tokens = self._local_task, self.stop_requested.is_set, self._left.extend
        tasks = self.spec["tasks"]
        self.peak = 1  # one task at a time, whatever tokens the loop hands out ahead
        try:
            # Tokens in blocks: nobody waits on them here, and one append per task would
            # be a tenth of the wrapper's cost.
            for start in range(0, tasks, SERIAL_TOKENS):
                block = range(start, min(start + SERIAL_TOKENS, tasks))
                tokens(itertools.repeat(None, len(block)))
                for index in block:
                    if stopped():
                        return
                    try:
                        task(index)
                    except BaseException:  # Cancelled, or a failure the task has reported
                        return
        finally:
            self._gather_local()

    def _run_pool(self, executor: cf.Executor) -> None:
        """A local pool: the window refilled from this thread, which sleeps in between.
        Waits without a wake-up per task: the task that drains half the window, the last
        task, a stop or a failure sets _wake. (A wake-up per completion would add a GIL
        request per task to a pool that is already passing the GIL back and forth.)"""
        self.executor = executor
        tasks, high = self.spec["tasks"], self.window
        low = high // 2
        left, wake, stopped = self._left, self._wake, self.stop_requested.is_set
        submit, task, token = executor.submit, self._local_task, left.append
        index = 0
        while not stopped():
            if index < tasks and len(left) <= low:
                peak = self.peak
                while index < tasks:
                    n = len(left)  # only this loop adds: n + 1 is the count just after
                    if n >= high:
                        break
                    if n >= peak:
                        peak = n + 1
                    # Before the task can pop it. If tasks pop between len() and here, a
                    # True lands lower and a None may land at the mark: the next True, or
                    # the empty list, wakes us instead (a refill a few tasks late).
                    token(True if n <= low else None)
                    submit(task, index)
                    index += 1
                self.peak = peak
            elif index >= tasks and not left:
                break
            wake.wait(LOCAL_WAIT_S)
            wake.clear()
        if stopped():
            self._stop_local(executor)
        self._gather_local()
        if not stopped():
            executor.shutdown(wait=True)

    def _stop_local(self, executor: cf.Executor) -> None:
        """A stop of a local pool: cancel what has not started (the executor drops its
        queue), give what runs RUNNER_STOP_GRACE_S. A task in progress holds its worker
        thread, so waiting for the threads is waiting for the tasks, without keeping a
        future per task."""
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + RUNNER_STOP_GRACE_S
        threads = list(getattr(executor, "_threads", ())) or [
            t for t in threading.enumerate() if t.name.startswith("gilviz-worker")
        ]
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stuck = sum(t.is_alive() for t in threads)
        if stuck:
            self.killed = True
            self._set_error(
                Failure.STOP_OVERRAN,
                f"stopped: {stuck} task(s) did not stop within {RUNNER_STOP_GRACE_S:g} s",
            )

    def _collect(self, submit: Callable[..., cf.Future], jobs, on_result) -> None:
        """Process and interpreter pools: submits ``jobs`` ((first task, fn, args), lazily)
        a window at a time and takes the results as they come, without waking this thread
        for each one: each future's done-callback only appends it to a deque, and this
        thread looks every COLLECT_S, when half the window has drained, at the last
        completion, at a stop and at a failure. (cf.wait() over the pending set would cost
        O(tasks^2).)"""
        finished: collections.deque[cf.Future] = collections.deque()
        left, wake, low = self._left, self._wake, self.window // 2
        pending: dict[cf.Future, int | None] = {}  # in flight -> its task (chunks: None)

        def done(fut: cf.Future) -> None:
            finished.append(fut)
            left.pop()
            if (
                (len(left) <= low and not wake.is_set())
                or fut.cancelled()
                or fut.exception() is not None
            ):
                wake.set()

        more = True
        while True:
            if self.emit.backlog() > EMIT_BACKLOG:
                self.emit.flush()  # gilviz is behind: wait for it before taking more
            if more and len(left) <= low and not self.stop_requested.is_set():
                try:
                    more = self._refill(submit, jobs, pending, done)
                    self._known_procs()  # the pool starts its workers as it gets tasks
                except BrokenProcessPool as exc:  # a worker died between two refills
                    self._set_error(*self._describe_failure(None, exc))
                    self.request_stop()
                    more = False
            while finished:
                fut = finished.popleft()
                index = pending.pop(fut, None)
                if fut.cancelled():
                    continue
                exc = fut.exception()
                if exc is None:
                    on_result(fut.result())
                    continue
                if isinstance(exc, workloads.Cancelled):
                    continue
                index = getattr(exc, "gilviz_task", index)
                self._set_error(*self._describe_failure(index, exc))
                self.request_stop()
            if self.stop_requested.is_set():
                self._cancel_rest(pending)
                return
            if not more and not pending:
                return
            wake.wait(COLLECT_S)
            wake.clear()

    def _refill(self, submit, jobs, pending: dict, done) -> bool:
        """Submits until the window is full; False once every job is submitted."""
        left, more = self._left, True
        while (n := len(left)) < self.window:
            job = next(jobs, None)
            if job is None:
                more = False
                break
            first, fn, args = job
            self.peak = max(self.peak, n + 1)  # only this loop adds to the count
            left.append(None)  # before its done-callback can pop it
            try:
                fut = submit(fn, *args)
            except BaseException:
                left.pop()
                raise
            pending[fut] = first
            fut.add_done_callback(done)
        return more

    def _cancel_rest(self, futures) -> None:
        """A stop: cancel what has not started, give what runs RUNNER_STOP_GRACE_S."""
        left = [f for f in futures if not f.done()]
        for fut in left:
            fut.cancel()
        running = [f for f in left if not f.cancelled()]
        done, not_done = cf.wait(running, timeout=RUNNER_STOP_GRACE_S)
        if not_done:
            self.killed = True
            self._kill_workers()
            self._set_error(
                Failure.STOP_OVERRAN,
                f"stopped: {len(not_done)} task(s) did not stop within {RUNNER_STOP_GRACE_S:g} s",
            )

    def _run_process(self) -> None:
        self.pool_t0 = time.monotonic_ns()
        ctx = multiprocessing.get_context(self.spec.get("start_method"))
        self.start_method = ctx.get_start_method()
        queue = ctx.SimpleQueue()
        self.cancel_sem = ctx.Semaphore(0)
        forwarder = threading.Thread(
            target=self._forward, args=(queue,), name="gilviz-forward", daemon=True
        )
        forwarder.start()
        executor = cf.ProcessPoolExecutor(
            self.spec["workers"],
            mp_context=ctx,
            initializer=_proc_init,
            initargs=(
                queue,
                self.cancel_sem,
                self.spec["workload"],
                self.spread,
                self.spec["params"],
                ctx.Value("i", 0) if self.spec["heartbeat"] else None,
                self.spec["switch_interval"],
                os.getpid(),
            ),
        )
        self.executor = executor
        try:
            blobs, size = self._pickled_args()
        except _NotCopyable as exc:
            self._refused(executor, _receive, exc.__cause__)
            executor.shutdown(wait=True, cancel_futures=True)
            return
        chunk = self.chunk = self.spec["chunksize"]
        self.window = self._window(chunk, size)
        if chunk > 1:
            jobs = (
                (None, _proc_chunk, (i, list(itertools.islice(blobs, chunk))))
                for i in range(0, self.spec["tasks"], chunk)
            )
            on_result = self._on_proc_chunk
        else:
            jobs = ((i, _proc_task, (i, blob)) for i, blob in enumerate(blobs))
            on_result = self._on_proc_result
        self._collect(executor.submit, jobs, on_result)
        broken = self.failure is Failure.POOL_BROKEN
        executor.shutdown(wait=not self.stop_requested.is_set() or broken, cancel_futures=True)
        # The forwarder is left to die with the process: a crashed worker may hold the
        # queue's lock, and a sentinel put would then block forever.

    def _pickled_args(self):
        """The tasks' pickled arguments, made as they are submitted, and their size."""
        # Pickled here (timed) and unpickled in the worker (timed): the executor then only
        # copies bytes, so the pickling cost of arguments is measured, not paid twice.

        def blobs():
            for _ in range(self.spec["tasks"]):
                p0 = time.perf_counter_ns()
                blob = pickle.dumps(self.arg, protocol=pickle.HIGHEST_PROTOCOL)
                self.pickle["args_s"] += (time.perf_counter_ns() - p0) / 1e9
                self.pickle["args_bytes"] += len(blob)
                yield blob

        it = blobs()
        try:
            first = next(it)  # every task has the same argument: its size sizes the window
        except Exception as exc:  # it cannot be copied: _refused asks the pool itself
            raise _NotCopyable from exc
        return itertools.chain((first,), it), len(first)

    def _refused(self, executor: cf.Executor, receive: Callable[[Any], None], why: Any) -> None:
        """The argument could not be pickled, so no task can be sent: hand the pool the
        object as it is, once (to ``receive``, which does nothing), and report what the pool
        itself raises (an interpreter pool: NotShareableError), as the run's outcome."""
        said: BaseException = why
        try:
            executor.submit(receive, self.arg).result(timeout=REFUSAL_TIMEOUT_S)
        except BaseException as exc:  # what the pool said, whatever it is, is the finding
            said = exc
        self.refused = _refusal_text(said)
        self._set_error(
            Failure.NOT_SHAREABLE, f"the pool refused the task's argument: {self.refused}"
        )

    def _on_proc_chunk(self, outs: list[tuple]) -> None:
        for out in outs:
            self._on_proc_result(out)

    def _on_proc_result(self, out: tuple) -> None:
        pid, tid, index, t0, t1, cpu, unpickle_ns, pickle_ns, rss, blob = out
        if len(self.task_spans) < STARTUP_SPANS:  # bounded, whatever the task count
            self.task_spans.append((t0, t1))
        wid = self.workers.wid(pid, tid)
        self.emit.send(TaskEnd(wid, index, t0, t1, cpu, True))
        if rss is not None:
            self.emit.send(WorkerRss(wid, rss))
        p0 = time.perf_counter_ns()
        result = pickle.loads(blob)
        self.pickle["results_s"] += (time.perf_counter_ns() - p0 + pickle_ns) / 1e9
        self.pickle["args_s"] += unpickle_ns / 1e9
        self.pickle["results_bytes"] += len(blob)
        self.done += 1
        if self.tally is not None:
            self.tally.add(result)
        # The result goes here: its size and timings are taken.

    def _forward(self, queue: Any) -> None:
        while True:
            try:
                item = queue.get()
            except (EOFError, OSError):
                return
            # The queue pickles the workers' messages whole: they arrive typed.
            if isinstance(item, ProcStart):
                self.emit.send(
                    TaskStart(self.workers.wid(item.pid, item.tid), item.task, item.t0_ns)
                )
            elif isinstance(item, ProcHello):
                self.workers.wid(item.pid, item.tid)
            elif isinstance(item, Beats):
                self.emit.send(item)

    def _run_interpreter(self) -> None:
        executor_cls = getattr(cf, "InterpreterPoolExecutor", None)
        if executor_cls is None:
            self._set_error(
                Failure.UNAVAILABLE, "this Python has no InterpreterPoolExecutor (3.14+)"
            )
            return
        # A subinterpreter shares nothing with this one: each task gets the workload's
        # name and its pickled argument, and returns its own timings, like a process
        # worker (no live start events: the end carries t0).
        self.pool_t0 = time.monotonic_ns()
        executor = executor_cls(self.spec["workers"])
        self.executor = executor
        try:
            blobs, size = self._pickled_args()
        except _NotCopyable as exc:
            self._refused(executor, interp_task.receive, exc.__cause__)
            executor.shutdown(wait=True, cancel_futures=True)
            return
        self.window = self._window(1, size)
        workload, spread = self.spec["workload"], self.spread
        jobs = (
            (i, interp_task.run_task, (workload, spread, i, blob)) for i, blob in enumerate(blobs)
        )
        pid, workers = os.getpid(), self.spec["workers"]

        def submit(fn: Callable[..., Any], *args: Any) -> cf.Future:
            fut = executor.submit(fn, *args)
            # The pool starts a thread per submission up to its size, each running its
            # interpreter's tasks: announce them at once, so they are sampled from their
            # first task on, not from its end.
            if len(self.workers) < workers:
                for thread in list(getattr(executor, "_threads", ())):
                    if thread.native_id is not None:
                        self.workers.wid(pid, thread.native_id)
            return fut

        self._collect(submit, jobs, self._on_proc_result)
        executor.shutdown(wait=not self.stop_requested.is_set(), cancel_futures=True)

    def _describe_failure(self, index: int | None, exc: BaseException) -> tuple[Failure, str]:
        if isinstance(exc, BrokenProcessPool):
            codes = self._worker_exitcodes()
            texts = [_exit_text(c) for c in codes if c]
            how = (
                ", ".join(
                    f"{texts.count(t)} {'workers' if texts.count(t) > 1 else 'worker'} {t}"
                    for t in dict.fromkeys(texts)
                )
                or "unknown cause"
            )
            return Failure.POOL_BROKEN, (
                "a process-pool worker terminated abruptly "
                f"({how}); the pool is broken, gilviz survives and the next run works"
            )
        return Failure.TASK_RAISED, _task_error(index, exc)

    def _known_procs(self) -> list[Any]:
        """The pool's worker processes, those it has already dropped included: a broken
        pool's manager thread may forget a dead worker before we ask how it died."""
        procs = getattr(self.executor, "_processes", None) or {}
        self._procs.update(dict(procs))
        return list(self._procs.values())

    def _worker_exitcodes(self) -> list[int | None]:
        codes = []
        deadline = time.monotonic() + 0.5
        for proc in self._known_procs():
            proc.join(timeout=0.2)
            # The pool's manager thread reaps its workers too: when it won the waitpid, our
            # poll sees ECHILD (exitcode None, is_alive() True) and the code appears on the
            # shared Process object a moment later. The sentinel tells a dead process.
            while proc.exitcode is None and time.monotonic() < deadline:
                if not multiprocessing.connection.wait([proc.sentinel], 0):
                    break  # really alive (the pool's shutdown will end it)
                time.sleep(0.01)
            codes.append(proc.exitcode)
        return codes

    def _kill_workers(self) -> None:
        for proc in self._known_procs():
            try:
                proc.kill()
            except (OSError, AttributeError, ValueError):
                pass


#: How long a pool may take to refuse (or take) an argument handed to it as it is.
REFUSAL_TIMEOUT_S = 30.0


class _NotCopyable(Exception):
    """The tasks' argument cannot be pickled (its cause says why)."""


def _receive(arg: Any) -> None:
    """A process worker's task that takes an argument and does nothing (see _refused)."""


def _refusal_text(exc: BaseException) -> str:
    """An exception in a line: the innermost of a chain of the same kind (an interpreter's
    NotShareableError names the tuple of arguments, then the object itself), addresses
    left out so that one run reads like the next."""
    while isinstance(exc.__cause__, type(exc)):
        exc = exc.__cause__
    text = re.sub(r" (object )?at 0x[0-9a-f]+", "", f"{type(exc).__name__}: {exc}")
    return text if len(text) <= 200 else text[:199] + "…"


def _literal(text: str) -> tuple:
    """--args as the tuple of arguments a task gets (gilviz checked it is a literal)."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"--args is not a Python literal: {exc}") from None
    return value if isinstance(value, tuple) else (value,)


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _task_error(index: int | None, exc: BaseException) -> str:
    where = f"task {index}" if index is not None else "a task"
    msg = str(exc).splitlines()[0] if str(exc) else ""
    text = f"{where} raised {type(exc).__name__}" + (f": {msg}" if msg else "")
    frames = _user_frames(exc)
    if frames:
        text += " at " + " <- ".join(reversed(frames[-3:]))
    return text


_OURS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # gilviz/core
_STDLIB = os.path.dirname(os.path.abspath(os.__file__))
_FRAME_RE = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def _user_frames(exc: BaseException) -> list[str]:
    """Where in the user's own code the exception came from ("file.py:12 in f"), outermost
    first; a process worker's traceback travels as text in the exception's cause."""
    found = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    remote = getattr(exc.__cause__, "tb", None)
    if isinstance(remote, str):
        found = [(f, int(n), name) for f, n, name in _FRAME_RE.findall(remote)]
    return [
        f"{os.path.basename(path)}:{line} in {name}"
        for path, line, name in found
        if not os.path.abspath(path).startswith((_OURS, _STDLIB)) and not path.startswith("<")
    ]


def _lines(fd: int):
    """Lines from a raw fd. No buffered file object: a fork while its lock is held (our
    reader thread blocks in it) would leave the forked worker's copy locked forever."""
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            if pending:
                yield pending.decode()
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            yield line.decode()


def _control(runner: Runner, lines) -> None:
    """Reads gilviz's commands; EOF means gilviz is gone, so end everything now."""
    for line in lines:
        cmd = decode_control(line)
        if isinstance(cmd, Stop):
            runner.request_stop()
        elif isinstance(cmd, Switch):
            sys.setswitchinterval(cmd.interval_s)
    runner._kill_workers()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    fd = int(argv[0])
    parent = int(os.environ.get("GILVIZ_PARENT_PID", "0"))
    if os.environ.get("GILVIZ_PDEATHSIG") == "1":
        set_pdeathsig()
    if parent and os.getppid() != parent:  # gilviz died before we could ask
        return 0
    # Ctrl-C in the terminal is gilviz's to handle; it tells us to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    emit = Emitter(fd)
    control_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    lines = _lines(control_fd)
    spec = json.loads(next(lines))
    emit.send(
        Hello(
            pid=os.getpid(),
            executable=sys.executable,
            python=python_facts(),
        )
    )
    workloads.params.update(spec.get("params") or {})
    if spec.get("switch_interval") is not None:
        sys.setswitchinterval(spec["switch_interval"])
    try:
        runner = Runner(spec, emit)
    except ValueError as exc:
        emit.send(Refused(str(exc)))
        emit.close()
        return 0
    threading.Thread(
        target=_control, args=(runner, lines), name="gilviz-control", daemon=True
    ).start()
    beat = None
    if spec.get("heartbeat") and spec["pool"] != "process":
        pid = os.getpid()
        beat = Heartbeat(lambda batch: emit.send(Beats(pid, batch)))
        beat.start()
    try:
        runner.run()
    except BaseException:
        emit.send(End(None, runner.done, traceback.format_exc(limit=1), Failure.RUNNER_ERROR))
    if beat is not None:
        beat.stop()
    emit.close()
    # Threads that never checked the cancel flag must not keep us alive.
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
