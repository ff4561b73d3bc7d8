"""Watching a program gilviz did not write: ``gilviz watch -- CMD`` starts CMD, ``gilviz
attach PID`` looks at a process tree already running. Every thread of every CPython process
in the tree is a worker; there is no runner, so no task events and no heartbeat.

    CMD or PID ── discovery (every DISCOVER_S: the tree's CPython processes, their threads)
                     │ WorkerSeen (with the thread's name)            │ ThreadRefs
                     v                                                v
                  RunModel <──────────── ticks ───────────── SamplerLoop (/proc)

What cannot be known from outside is not guessed: without task events a worker is counted
busy all the time it is seen (a blocked wait is I/O or lock wait, never idle), and latency
is n/a (no heartbeat runs in a foreign process). Attaching reads /proc only: nothing is
injected, no signal is sent, no file descriptor of the target is touched, and detaching
leaves it as it was. A watched CMD is gilviz's child: it is ended with gilviz (its process
group gets SIGTERM, then SIGKILL), and gilviz exits with its exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

from gilviz.core.errors import BadInput
from gilviz.core.measuring import gilsym, machine
from gilviz.core.measuring.samples import ThreadRef
from gilviz.core.model import RunModel
from gilviz.core.protocol import (
    STOP_TIMEOUT_S,
    WATCH_POOL,
    End,
    Failure,
    ProcessSeen,
    RunStatus,
    TaskStart,
    WorkerCpu,
    WorkerSeen,
)
from gilviz.core.report import NO_TASKS
from gilviz.core.running.spec import RunSpec

DISCOVER_S = 0.1  # how often the tree is looked at for new processes and threads


def watch_spec(argv: list[str] | None = None, pid: int | None = None, label: str = "") -> RunSpec:
    """The spec of a watched command (``argv``) or an attached process (``pid``)."""
    what = " ".join(argv) if argv else f"pid {pid}"
    params: dict[str, Any] = {"argv": list(argv)} if argv else {"pid": pid}
    return RunSpec(
        workload=what,
        pool=WATCH_POOL,
        workers=0,
        tasks=0,
        heartbeat=False,
        params=params,
        label=label or ("attach" if pid else "watch"),
    )


def check_attachable(pid: int) -> str:
    """The process's name if gilviz can watch it; BadInput with the reason and the fix."""
    try:
        proc = psutil.Process(pid)
        name = proc.name()
    except psutil.NoSuchProcess:
        raise BadInput(f"no process {pid}") from None
    except psutil.AccessDenied:
        name = "?"
    try:
        gilsym.locate_gil(pid)
    except gilsym.GilNotFound as exc:
        text = str(exc)
        if "no permission" in text:
            raise BadInput(
                f"cannot watch process {pid} ({name}): {_permission_hint(pid)}"
            ) from None
        if "gone" in text:
            raise BadInput(f"no process {pid}") from None
        raise BadInput(f"process {pid} ({name}) is not a CPython process: {text}") from None
    return name


def _permission_hint(pid: int) -> str:
    try:
        owner = psutil.Process(pid).uids().real
    except psutil.Error:
        owner = None
    if owner is not None and owner != os.getuid() and os.getuid() != 0:
        return (
            f"it belongs to user {owner}, and reading another user's /proc/{pid}/maps needs "
            "root (run gilviz as that user, or with sudo)"
        )
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = f.read().strip()
    except OSError:
        scope = None
    if scope not in (None, "0"):
        return (
            f"Yama's ptrace_scope is {scope}, which allows reading another process's /proc "
            "files only to its parent or root (run gilviz with sudo, or "
            "sysctl kernel.yama.ptrace_scope=0)"
        )
    return f"no permission to read /proc/{pid}/maps"


def _pdeathsig_hook() -> Callable[[], None] | None:
    """What the child runs between fork and exec so that the kernel sends it SIGTERM when
    gilviz dies. Resolved here, in gilviz: after a fork beside other threads the child must
    not import or dlopen anything (a lock held at the fork would never be released)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG


class Watch:
    """A watched program, with the interface of ``session.Run``: ``start()``, then
    ``wait()`` or ``stop()``; ``model`` is live; ``returncode`` is CMD's exit code."""

    def __init__(
        self,
        spec: RunSpec,
        sample_hz: float = 50.0,
        force_fallback: bool = False,
        output: int | None = None,
        log_path: str | None = None,
        on_message: Callable[[Any], None] | None = None,
    ) -> None:
        self.spec = spec
        self.argv: list[str] | None = spec.params.get("argv")
        self.pid: int | None = spec.params.get("pid")
        self.sample_hz = sample_hz
        self.sampler = None
        if sample_hz > 0:
            from gilviz.core.measuring.sampler import make_sampler

            self.sampler = make_sampler(force_fallback=force_fallback)
        method = self.sampler.method if self.sampler is not None else "none"
        self.model = RunModel(
            spec, method=f"{method}; {NO_TASKS}", usable_cpus=machine.usable_cpus()
        )
        #: where CMD's output goes: a file descriptor (``--json``: gilviz's stderr) or a log
        self.output = output
        self.log_path = log_path
        self._on_message = on_message
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.stopping = False
        self.end_lost: str | None = None
        self.worker_pids: dict[int, float] = {}
        self._workers: dict[tuple[int, int], int] = {}  # (pid, tid) -> wid
        self._cpu_base: dict[int, int] = {}  # wid -> its CPU ns when first seen
        self._kinds: dict[tuple[int, float], bool] = {}  # (pid, create time) -> CPython?
        self._stop = threading.Event()
        self._done = threading.Event()
        self._ending = threading.Lock()  # the follower and abandon() may both end it
        self._loop = None
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic_ns()

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> Watch:
        from gilviz.core.running import session

        if self.argv:
            out: Any = self.output
            log = None
            if out is None:
                log = open(self.log_path or os.devnull, "ab")  # noqa: SIM115 - handed to it
                out = log
            try:
                self.proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL if self.output is None else None,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,  # its own group: ended as a whole with gilviz
                    preexec_fn=_pdeathsig_hook(),
                )
            except OSError as exc:
                raise BadInput(f"cannot start {self.argv[0]}: {exc.strerror or exc}") from None
            finally:
                if log is not None:
                    log.close()
            self.pid = self.proc.pid
        else:
            check_attachable(self.pid)
        session._live.add(self)
        self._t0 = time.monotonic_ns()
        self._discover()
        if self.sampler is not None:
            from gilviz.core.measuring.sampler import SamplerLoop

            self._loop = SamplerLoop(self.sampler, hz=self.sample_hz, on_tick=self._on_tick)
            self._loop.start()
        self._thread = threading.Thread(target=self._follow, name="gilviz-watch", daemon=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        duration = self.spec.params.get("duration_s")
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while not self._stop.wait(DISCOVER_S):
                if self.proc is not None and self.proc.poll() is not None:
                    break
                if self.proc is None and not psutil.pid_exists(self.pid):
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._discover()
        finally:
            self._end()

    def _discover(self) -> None:
        """Add the tree's new CPython threads as workers; drop the threads that ended."""
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        refs = []
        for proc in procs:
            try:
                key = (proc.pid, proc.create_time())
            except psutil.Error:
                continue
            if key not in self._kinds or not self._kinds[key]:
                # Not CPython yet (a shell, or a fork before exec): looked at again each time.
                try:
                    gilsym.locate_gil(proc.pid)
                    self._kinds[key] = True
                except gilsym.GilNotFound:
                    self._kinds[key] = False
                    continue
            if proc.pid not in self.model.processes:
                self._message(ProcessSeen(proc.pid, _command_line(proc)))
            if proc.pid != self.pid:
                self.worker_pids.setdefault(proc.pid, key[1])
            for tid in _tids(proc.pid):
                wid = self._workers.get((proc.pid, tid))
                if wid is None:
                    wid = self._workers[(proc.pid, tid)] = len(self._workers)
                    self._message(WorkerSeen(wid, proc.pid, tid, _thread_name(proc.pid, tid)))
                    # Busy from its first sight: without task events idle cannot be known.
                    self._message(TaskStart(wid, 0, time.monotonic_ns()))
                refs.append(ThreadRef(wid, proc.pid, tid))
        if self.sampler is not None:
            self.sampler.set_targets(refs)

    def _on_tick(self, samples: list, core: Any) -> None:
        self.model.on_tick(samples, core)
        # A thread's CPU time from its samples (cumulative, so the last one stands when it
        # ends): counted from when gilviz first saw it when attached (what ran before is not
        # this session's), from its start when watched.
        for smp in samples:
            base = self._cpu_base.setdefault(smp.wid, smp.cpu_ns if self.proc is None else 0)
            self._message(WorkerCpu(smp.wid, smp.cpu_ns - base))

    def _message(self, msg: Any) -> None:
        self.model.on_message(msg)
        if self._on_message is not None:
            self._on_message(msg)

    def _end(self) -> None:
        """Stop sampling, end a watched CMD, finish the model: once, whoever asks first."""
        if not self._ending.acquire(blocking=False):
            return  # the other thread is ending it now
        try:
            self._finish()
        finally:
            self._ending.release()

    def _finish(self) -> None:
        if self._done.is_set():
            return
        if self._loop is not None:
            self._loop.stop()
            self.model.sample_hz = self._loop.achieved_hz
        if self.sampler is not None:
            self.sampler.close()
        if self.proc is not None:
            self._end_child()
            self.returncode = self.proc.returncode
        wall = (time.monotonic_ns() - self._t0) / 1e9
        error = None
        failure = None
        if self.stopping and self.proc is not None and self.returncode not in (0, None):
            failure, error = Failure.STOPPED, "stopped: gilviz ended the watched program"
        elif self.returncode not in (0, None):
            failure, error = Failure.TASK_RAISED, _exit_text(self.returncode)
        self._message(End(wall, 0, error, failure))
        status = RunStatus.DONE
        if failure is not None:
            status = RunStatus.STOPPED if failure.is_stop else RunStatus.FAILED
        self.model.finish(status)
        from gilviz.core.running import session

        session._live.discard(self)
        self._done.set()

    def _end_child(self) -> None:
        """CMD's whole process group: SIGTERM, then SIGKILL after the stop timeout."""
        assert self.proc is not None
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def send(self, command: Any) -> None:
        """A watched program takes no control commands."""

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop watching: a watched CMD is ended, an attached process is left alone."""
        if self._done.is_set():
            return
        self.stopping = True
        self._stop.set()
        if not self._done.wait(2 * timeout + 1):
            self.kill()

    def kill(self) -> None:
        self.stopping = True
        self._stop.set()
        if self.proc is not None:
            _signal_group(self.proc.pid, signal.SIGKILL)

    def abandon(self, when: str) -> None:
        self.kill()
        self._end()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()


def _tids(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:  # it ended meanwhile
        return []


def _command_line(proc: psutil.Process) -> str | None:
    try:
        return " ".join(proc.cmdline()) or proc.name()
    except psutil.Error:
        return None


def _thread_name(pid: int, tid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"the program was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"the program was killed by signal {-code}"
    return f"the program exited with code {code}"
