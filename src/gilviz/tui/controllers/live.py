"""Live runs: the controller that starts real runs, one plan at a time, through the core's
plan driver (``core.running.plan``), and hands out their :class:`Progress`.

    app timer ──poll()──> LiveController ── PlanRun.start() (main thread) ──> session.Run
         ^                      │  run.model.snapshot()
         └──── Progress ────────┘  (immutable: snapshots, summaries, state)

Starting happens in ``poll()``/``begin()``, which the app calls from the event loop, i.e. the
main thread: ``Run.start()`` sets PR_SET_PDEATHSIG only there. Stopping never blocks the
UI: the controller asks the runner to stop, kills it if it has not ended STOP_GRACE_S
later, and gives up on reading its end KILL_GRACE_S after that; a stop is therefore settled
(stopped or failed, saying why) within STOP_BOUND_S. A begun plan is what ``poll()``
reports from then on ("queued" while the previous run ends, so two runs never share the
cores). No Textual import here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gilviz.core import report
from gilviz.core.errors import BadInput
from gilviz.core.model import RunSnapshot
from gilviz.core.protocol import STOP_TIMEOUT_S, Control, Stop
from gilviz.core.running.spec import RunSpec
from gilviz.tui.controllers.base import Plan, Progress

STOP_GRACE_S = STOP_TIMEOUT_S  # a stopping runner's own time to end (it gives its tasks 1 s)
KILL_GRACE_S = 2.0  # after the kill (or the runner's exit): time to read its last events
STOP_BOUND_S = STOP_GRACE_S + KILL_GRACE_S  # a stop is settled within this


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
        self,
        sample_hz: float = 50.0,
        force_fallback: bool = False,
        recorder: Any = None,
        watch_log: str | None = None,
    ) -> None:
        self.watch_log = watch_log  # where a watched program's output goes
        self.sample_hz = sample_hz
        self.force_fallback = force_fallback
        #: core.recording.recorder.Recorder: every run of the session goes into one
        #: recording (--record)
        self.recorder = recorder
        self._seq: _Sequence | None = None  # the plan poll() reports: the last one begun
        self._run: Any = None  # core.session.Run in progress, maybe of an earlier plan
        self._run_seq: _Sequence | None = None  # the plan _run belongs to
        self._deadline: float | None = None  # waiting for _run to end until then
        self._killed = False  # the deadline is the last one: then its end is given up
        self._generation = 0
        self._last = Progress()
        self.clock: Callable[[], float] = time.monotonic  # tests drive the deadlines

    # --- commands ------------------------------------------------------------------------

    def begin(self, plan: Plan) -> None:
        """Run ``plan``; the current run, if any, is stopped first. From now on ``poll()``
        reports ``plan`` (with a new generation), queued until that run has ended."""
        old = self._seq
        if old is not None and old.state in ("queued", "running", "stopping"):
            old.state = "stopped"
            if old is not self._run_seq:
                self._close_server(old)
        if self._run is not None and not self._run.done:
            self._request_stop()
        self._generation += 1
        self._seq = _Sequence(plan, self._generation)
        self.poll()

    def stop(self) -> None:
        seq = self._seq
        if seq is None:
            return
        if seq.state == "running" and seq is self._run_seq and not self._run.done:
            seq.state = "stopping"
            self._request_stop()
        elif seq.state in ("queued", "running"):
            # Not started yet (an earlier run is still ending), or between two runs.
            seq.state = "stopped"
            if seq is not self._run_seq:
                self._close_server(seq)

    def send(self, command: Control) -> None:
        # Only to the run of the plan poll() reports, never to an earlier one still ending.
        if self._run is not None and self._run_seq is self._seq and not self._run.done:
            self._run.send(command)

    def shutdown(self, timeout: float = STOP_GRACE_S) -> None:
        """Stop everything now (blocking, at most about 2 x timeout): on quit."""
        seq = self._seq
        if seq is not None and seq.state in ("queued", "running", "stopping"):
            seq.state = "stopped"
        if self._run is not None:
            self._run.stop(timeout)
            if self._run_seq is not None and self._run_seq.driver is not None:
                self._run_seq.driver.finish(self._run)
        for s in (self._run_seq, seq):
            if s is not None:
                self._close_server(s)
        if self.recorder is not None:
            self.recorder.close()
        from gilviz.core.running.session import stop_all

        stop_all()

    # --- state machine -------------------------------------------------------------------

    def _request_stop(self) -> None:
        run = self._run
        run.stopping = True
        if self._deadline is None:  # asked already: the first deadline stands
            run.send(Stop())
            self._deadline = self.clock() + STOP_GRACE_S

    def _watch(self, run: Any) -> None:
        """Collect the run once it has ended. Every wait for that has a deadline: the
        stop's grace, then the kill's; a runner that exited by itself gets the kill's grace
        for its last events. At the last deadline the run is ended without them."""
        now = self.clock()
        if not run.done and self._deadline is None:
            if run.proc is not None and run.proc.poll() is not None:
                self._killed = True
                self._deadline = now + KILL_GRACE_S
        elif not run.done and now > self._deadline:
            if not self._killed:
                run.kill()
                self._killed = True
                self._deadline = now + KILL_GRACE_S
            else:
                run.abandon(
                    f"{STOP_BOUND_S:g} s after the stop"
                    if run.stopping
                    else f"{KILL_GRACE_S:g} s after the runner exited"
                )
        if run.done:
            self._collect(run)

    def poll(self) -> Progress:
        if self._run is not None:
            self._watch(self._run)
        seq = self._seq
        if self._run is None and seq is not None:
            if seq.state == "queued":
                self._start_plan(seq)
            elif seq.state == "running":
                self._start_next()
        return self._progress()

    def _collect(self, run: Any) -> None:
        seq = self._run_seq
        self._run = self._run_seq = None
        self._deadline, self._killed = None, False
        if seq is None or seq.driver is None:
            return
        summary = seq.driver.finish(run)  # also records the run's end
        if seq is not self._seq:  # replaced by a newer plan: nobody shows it any more
            self._close_server(seq)
            return
        snap = run.model.snapshot()
        seq.finals[seq.index] = snap
        seq.summaries[seq.index] = summary
        report.fill_speedups([s for s in seq.summaries if s is not None])
        if run.end_lost:
            seq.state, seq.error = "failed", summary["error"]
            self._close_server(seq)
        elif seq.state in ("stopping", "stopped"):
            seq.state = "stopped"
            self._close_server(seq)
        elif run.model.bad_input:
            seq.state, seq.error = "failed", run.model.bad_input
            self._close_server(seq)
        elif seq.index + 1 < len(seq.specs):
            seq.index += 1
        else:
            seq.state = "done"
            self._close_server(seq)

    def _start_plan(self, seq: _Sequence) -> None:
        plan = seq.plan
        try:
            from gilviz.core.running.plan import PlanRun

            driver = PlanRun(
                plan.make_specs,
                delay_s=plan.delay_s,
                server=plan.needs_server,
                recorder=self.recorder,
                sample_hz=self.sample_hz,
                force_fallback=self.force_fallback,
                record_plan=plan.record() if self.recorder is not None else None,
                watch_log=self.watch_log,
            )
            seq.driver = seq.resources.enter_context(driver)
            seq.specs = list(driver.specs)
        except BadInput as exc:
            seq.state, seq.error = "failed", str(exc)
            self._close_server(seq)
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
            self._run_seq = seq
        except BadInput as exc:
            self._run = None
            seq.state, seq.error = "failed", str(exc)
            self._close_server(seq)

    @staticmethod
    def _close_server(seq: _Sequence) -> None:
        """Close what the plan holds open (its local server); its run has ended."""
        seq.resources.close()

    def _progress(self) -> Progress:
        seq = self._seq
        if seq is None:
            return self._last
        run = self._run if self._run_seq is seq else None
        snap = run.model.snapshot() if run is not None else None
        if snap is None and seq.finals:
            snap = seq.finals[seq.index]
        self._last = Progress(
            plan=seq.plan,
            specs=tuple(seq.specs),
            index=seq.index,
            snapshot=snap,
            finals=tuple(seq.finals),
            summaries=tuple(dict(s) if s else None for s in seq.summaries),
            state=seq.state,
            error=seq.error,
            generation=seq.generation,
        )
        return self._last
