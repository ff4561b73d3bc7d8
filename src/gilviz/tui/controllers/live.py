"""Live runs: the controller that starts real runs, one plan at a time, through the core's
plan driver (``core.running.plan``), and hands out their :class:`Progress`.

    app timer ──poll()──> LiveController ── PlanRun.start() (main thread) ──> session.Run
         ^                      │  run.model.snapshot()
         └──── Progress ────────┘  (immutable: snapshots, summaries, state)

Starting happens in ``poll()``/``begin()``, which the app calls from the event loop, i.e. the
main thread: ``Run.start()`` sets PR_SET_PDEATHSIG only there. Stopping never blocks the
UI: the controller asks the runner to stop, and kills it if it has not ended two seconds
later. A new plan waits until the previous run has really ended, so two runs never share
the cores. No Textual import here.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from gilviz.core import report
from gilviz.core.errors import BadInput
from gilviz.core.model import RunSnapshot
from gilviz.core.protocol import STOP_TIMEOUT_S, Control, Stop
from gilviz.core.running.spec import RunSpec
from gilviz.tui.controllers.base import Plan, Progress


@dataclass
class _Sequence:
    plan: Plan
    generation: int
    specs: list[RunSpec] = field(default_factory=list)
    index: int = 0
    finals: list[RunSnapshot | None] = field(default_factory=list)
    summaries: list[dict[str, Any] | None] = field(default_factory=list)
    state: str = "queued"
    error: str | None = None
    driver: Any = None  # core.running.plan.PlanRun, open while the plan is
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


class LiveController:
    """Starts real runs (core.session.Run) and hands out their snapshots."""

    def __init__(
        self, sample_hz: float = 50.0, force_fallback: bool = False, recorder: Any = None
    ) -> None:
        self.sample_hz = sample_hz
        self.force_fallback = force_fallback
        #: core.recording.recorder.Recorder: every run of the session goes into one
        #: recording (--record)
        self.recorder = recorder
        self._seq: _Sequence | None = None
        self._queued: Plan | None = None
        self._run: Any = None  # core.session.Run in progress
        self._stop_deadline: float | None = None
        self._generation = 0
        self._last = Progress()

    # --- commands ------------------------------------------------------------------------

    def begin(self, plan: Plan) -> None:
        """Run ``plan``; the current run, if any, is stopped first."""
        self._queued = plan
        if self._run is not None and not self._run.done:
            self._request_stop()
        self.poll()

    def stop(self) -> None:
        self._queued = None
        seq = self._seq
        if seq is not None and seq.state in ("queued", "running"):
            if self._run is not None and not self._run.done:
                seq.state = "stopping"
                self._request_stop()
            else:
                seq.state = "stopped"
                self._close_server()

    def send(self, command: Control) -> None:
        if self._run is not None and not self._run.done:
            self._run.send(command)

    def shutdown(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop everything now (blocking, at most about 2 x timeout): on quit."""
        self._queued = None
        if self._run is not None:
            self._run.stop(timeout)
            if self._seq is not None and self._seq.driver is not None:
                self._seq.driver.finish(self._run)
        self._close_server()
        if self.recorder is not None:
            self.recorder.close()
        from gilviz.core.running.session import stop_all

        stop_all()

    # --- state machine -------------------------------------------------------------------

    def _request_stop(self) -> None:
        run = self._run
        run.stopping = True
        run.send(Stop())
        self._stop_deadline = time.monotonic() + STOP_TIMEOUT_S

    def poll(self) -> Progress:
        run = self._run
        if run is not None:
            if run.done:
                self._collect(run)
            elif self._stop_deadline is not None and time.monotonic() > self._stop_deadline:
                run.kill()
                self._stop_deadline = time.monotonic() + STOP_TIMEOUT_S
        if self._run is None:
            if self._queued is not None:
                self._start_plan(self._queued)
                self._queued = None
            elif self._seq is not None and self._seq.state in ("running", "queued"):
                self._start_next()
        return self._progress()

    def _collect(self, run: Any) -> None:
        seq = self._seq
        self._run = None
        self._stop_deadline = None
        if seq is None or seq.driver is None:
            return
        summary = seq.driver.finish(run)
        snap = run.model.snapshot()
        seq.finals[seq.index] = snap
        seq.summaries[seq.index] = summary
        report.fill_speedups([s for s in seq.summaries if s is not None])
        if seq.state == "stopping" or self._queued is not None:
            seq.state = "stopped"
            self._close_server()
        elif run.model.bad_input:
            seq.state, seq.error = "failed", run.model.bad_input
            self._close_server()
        elif seq.index + 1 < len(seq.specs):
            seq.index += 1
        else:
            seq.state = "done"
            self._close_server()

    def _start_plan(self, plan: Plan) -> None:
        self._close_server()
        self._generation += 1
        seq = self._seq = _Sequence(plan, self._generation)
        try:
            from gilviz.core.running.plan import PlanRun

            driver = PlanRun(
                plan.make_specs,
                delay_s=plan.delay_s,
                server=plan.needs_server,
                recorder=self.recorder,
                sample_hz=self.sample_hz,
                force_fallback=self.force_fallback,
            )
            seq.driver = seq.resources.enter_context(driver)
            seq.specs = list(driver.specs)
        except BadInput as exc:
            seq.state, seq.error = "failed", str(exc)
            self._close_server()
            return
        seq.finals = [None] * len(seq.specs)
        seq.summaries = [None] * len(seq.specs)
        seq.state = "running"
        self._start_next()

    def _start_next(self) -> None:
        seq = self._seq
        assert seq is not None and seq.driver is not None
        try:
            self._run = seq.driver.start(seq.index)
        except BadInput as exc:
            self._run = None
            seq.state, seq.error = "failed", str(exc)
            self._close_server()

    def _close_server(self) -> None:
        if self._seq is not None:
            self._seq.resources.close()

    def _progress(self) -> Progress:
        seq = self._seq
        if seq is None:
            return self._last
        snap = self._run.model.snapshot() if self._run is not None else None
        if snap is None and seq.finals:
            snap = seq.finals[seq.index]
        state = seq.state
        if state == "running" and self._queued is not None:
            state = "stopping"
        self._last = Progress(
            plan=seq.plan,
            specs=tuple(seq.specs),
            index=seq.index,
            snapshot=snap,
            finals=tuple(seq.finals),
            summaries=tuple(dict(s) if s else None for s in seq.summaries),
            state=state,
            error=seq.error,
            generation=seq.generation,
        )
        return self._last
