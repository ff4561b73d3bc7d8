"""One run, seen from gilviz: starts the runner child, reads its messages, samples its
threads from outside, feeds the model, and ends everything cleanly.

    RunSpec ─> Run.start() ─ Popen(python -m gilviz.core.running.runner) ─ messages ─> RunModel
                              └─ SamplerLoop(/proc of the runner tree) ─ ticks ─┘

Every child ends whatever ends gilviz: the runner gets PR_SET_PDEATHSIG (when started
from the main thread, since Linux ties it to the creating thread) and exits on stdin EOF;
process-pool workers watch their parent; :func:`stop_all` kills whatever is left and is
called from gilviz's signal handlers and at exit.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

import gilviz
from gilviz.core.errors import BadInput
from gilviz.core.measuring import machine
from gilviz.core.measuring.samples import ThreadRef
from gilviz.core.model import RunModel
from gilviz.core.protocol import (
    LOCAL_POOLS,
    STOP_TIMEOUT_S,
    Control,
    Failure,
    Message,
    Output,
    RunStatus,
    Stop,
    WorkerSeen,
    decode,
    encode_control,
)
from gilviz.core.running.spec import RunSpec

#: The folder that holds the ``gilviz`` package, put on the runner's PYTHONPATH so another
#: interpreter (``--python``) imports this very runner.
PACKAGE_ROOT = str(Path(gilviz.__file__).resolve().parent.parent)

#: How much of what a run printed is kept (the rest stays in the log file).
OUTPUT_LINES = 20
OUTPUT_BYTES = 16 * 1024

_live: weakref.WeakSet[Run] = weakref.WeakSet()


def stop_all() -> None:
    """Stop every live run now (signal handlers, atexit)."""
    for run in list(_live):
        run.kill()


atexit.register(stop_all)


def runner_env(python: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    env["GILVIZ_PARENT_PID"] = str(os.getpid())
    env["PYTHONUNBUFFERED"] = "1"
    if threading.current_thread() is threading.main_thread():
        env["GILVIZ_PDEATHSIG"] = "1"
    else:
        env.pop("GILVIZ_PDEATHSIG", None)
    return env


class Run:
    """A run in progress. ``start()``, then ``wait()`` or ``stop()``; ``model`` is live."""

    def __init__(
        self,
        spec: RunSpec,
        sample_hz: float = 50.0,
        force_fallback: bool = False,
        log_path: str | None = None,
        on_message: Callable[[Message], None] | None = None,
        on_tick: Callable[[list, Any], None] | None = None,
    ) -> None:
        self.spec = spec
        self.sample_hz = sample_hz
        self.sampler = None
        if sample_hz > 0:
            from gilviz.core.measuring.sampler import make_sampler

            self.sampler = make_sampler(force_fallback=force_fallback)
        method = self.sampler.method if self.sampler is not None else "none"
        self.model = RunModel(spec, method=method, usable_cpus=machine.usable_cpus())
        self.log_path = log_path or os.path.join(
            tempfile.gettempdir(), f"gilviz-runner-{os.getpid()}.log"
        )
        self._on_message = on_message
        self._on_tick = on_tick
        self.proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._loop = None
        self._done = threading.Event()
        self._ending = threading.Lock()  # the reader and abandon() may both end the run
        #: why the run was ended before its end message was read (abandon()), else None
        self.end_lost: str | None = None
        self._refs: list[ThreadRef] = []
        self.worker_pids: dict[int, float] = {}  # pid -> create time
        self.stopping = False
        self._log_from = 0

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> Run:
        python = self.spec.python or sys.executable
        read_fd, write_fd = os.pipe()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self._log_from = log.seek(0, os.SEEK_END)  # this run's output starts here
        try:
            self.proc = subprocess.Popen(
                [python, "-m", "gilviz.core.running.runner", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=(write_fd,),
                env=runner_env(self.spec.python),
                # Its own session: Ctrl-C and terminal hangups reach gilviz, which then
                # stops the runner in order, instead of every process dying in a heap.
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            raise BadInput(
                f"cannot start the runner with {python}: {exc.strerror or exc}"
            ) from None
        finally:
            log.close()
        os.close(write_fd)
        _live.add(self)
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(self.spec.to_json()) + "\n").encode())
        self.proc.stdin.flush()
        self._reader = threading.Thread(
            target=self._read, args=(read_fd,), name="gilviz-reader", daemon=True
        )
        self._reader.start()
        if self.sampler is not None:
            from gilviz.core.measuring.sampler import SamplerLoop

            self._loop = SamplerLoop(self.sampler, hz=self.sample_hz, on_tick=self._tick)
            self._loop.start()
        return self

    def _read(self, fd: int) -> None:
        try:
            with os.fdopen(fd, "rb", buffering=1 << 16) as stream:
                for line in stream:
                    if self._done.is_set():  # abandoned: the model is final
                        return
                    try:
                        batch = json.loads(line)
                    except ValueError:
                        continue
                    for raw in batch:
                        msg = decode(raw)
                        if msg is None:  # a message this gilviz does not know
                            continue
                        if isinstance(msg, WorkerSeen):
                            self._add_worker(msg)
                        self.model.on_message(msg)
                        if self._on_message is not None:
                            self._on_message(msg)
        except Exception as exc:  # the run must end all the same, saying why
            self.model.fail(
                Failure.END_LOST, f"gilviz could not read the runner's messages: {exc!r}"
            )
            self.kill()
        finally:
            self._finish()

    def _add_worker(self, msg: WorkerSeen) -> None:
        wid, pid, tid = msg.wid, msg.pid, msg.tid
        self._refs.append(ThreadRef(wid, pid, tid))
        if self.proc is not None and pid != self.proc.pid and pid not in self.worker_pids:
            # Remember when it started, so a recycled pid is never killed by mistake.
            try:
                self.worker_pids[pid] = psutil.Process(pid).create_time()
            except psutil.Error:
                pass
        if self.sampler is not None:
            self.sampler.set_targets(list(self._refs))

    def _tick(self, samples: list, core: Any) -> None:
        self.model.on_tick(samples, core)
        if self._on_tick is not None:
            self._on_tick(samples, core)

    def _finish(self) -> None:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._end(code)

    def _end(self, code: int | None, lost: str | None = None) -> None:
        """Stop sampling, reap the workers, give the model its final status: once."""
        if not self._ending.acquire(blocking=False):
            return  # the other thread is ending it now
        try:
            if self._done.is_set():
                return
            if self._loop is not None:
                self._loop.stop()
                self.model.sample_hz = self._loop.achieved_hz
            if self.sampler is not None:
                self.sampler.close()
            self._reap_workers()
            model = self.model
            lines = self._output_tail()
            if lines:
                model.on_message(Output(lines))
            if model.end is None and not model.bad_input and not model.fatal:
                if lost is not None:
                    self.end_lost = lost
                    model.fail(Failure.END_LOST, lost)
                else:
                    model.fail(*self._death(code if code is not None else 0))
            failure = model.failure()
            if model.bad_input:
                status = RunStatus.FAILED
            elif failure is not None:
                status = RunStatus.STOPPED if failure.is_stop else RunStatus.FAILED
            else:
                status = RunStatus.FAILED if model.error() else RunStatus.DONE
            model.finish(status)
        finally:
            _live.discard(self)
            self._done.set()
            self._ending.release()

    def _output_tail(self, keep: int = OUTPUT_LINES) -> list[str]:
        """The last lines the runner and its workers wrote to the log during this run."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_from)
                data = f.read()[-OUTPUT_BYTES:]
        except OSError:
            return []
        text = data.decode("utf-8", errors="replace")
        return [line.rstrip() for line in text.splitlines()[-keep:]]

    def abandon(self, when: str) -> None:
        """End the run now, without waiting any longer for its last messages (a deadline
        ran out ``when``): kill what is left and finish the model with what it has. A
        reader still blocked on the pipe drops whatever comes later."""
        self.kill()
        code = self.proc.poll() if self.proc is not None else None
        why = (
            "the runner did not die when killed"
            if code is None
            else "the runner has exited but its event pipe is still open"
            " (held by a process it started?)"
        )
        self._end(code, lost=f"no end of run read {when}: {why}")

    def _death(self, code: int) -> tuple[Failure, str]:
        """Why the runner ended without its End message."""
        if self.stopping:
            return Failure.KILLED, "stopped: the runner was killed"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            where = (
                "a thread pool shares one process: one crashing task kills every worker"
                if self.spec.pool in LOCAL_POOLS
                else "the runner died"
            )
            return Failure.RUNNER_DIED, f"the runner process was killed by {name} ({where})"
        return (
            Failure.RUNNER_DIED,
            f"the runner process exited with code {code} before finishing (log: {self.log_path})",
        )

    def _reap_workers(self) -> None:
        # Process workers end themselves when the runner goes; this makes sure of it.
        for pid, created in list(self.worker_pids.items()):
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created:
                    proc.kill()
            except psutil.Error:
                pass

    def send(self, command: Control) -> None:
        """A control command to the runner (protocol.Stop, protocol.Switch)."""
        if self.proc is None or self.proc.stdin is None:
            return
        try:
            self.proc.stdin.write((encode_control(command) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Cancel pending tasks, let running ones stop; kill what does not within timeout."""
        if self._done.is_set():
            return
        self.stopping = True
        self.send(Stop())
        if not self._done.wait(timeout):
            self.kill()
            if not self._done.wait(timeout):
                self.abandon(f"{2 * timeout:g} s after the stop")

    def kill(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        self._reap_workers()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()


def run_blocking(spec: RunSpec, **kwargs: Any) -> Run:
    """Start a run and wait for it to end; raises BadInput if the runner refused it."""
    run = Run(spec, **kwargs).start()
    try:
        while not run.wait(0.2):
            pass
    except BaseException:
        run.stop()
        raise
    if run.model.bad_input:
        raise BadInput(run.model.bad_input)
    return run
