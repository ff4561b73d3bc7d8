"""A plan: the runs of one command or one screen, one after the other, and what they share
(the local HTTP server of fetch workloads, the session's recorder). The CLI drives it to the
end with :meth:`PlanRun.run_all`; the TUI's live controller steps it from its poll.

    PlanRun (a context: ExitStack of the FetchServer) ── specs ──> start(i) ─> session.Run
        ^                                                              │ ends
        └──────────── finish(run) ─> summary, the run's end recorded ──┘

Leaving the context (normally, on an exception, on Ctrl-C or a signal raised in the main
thread) stops the run in progress in order and closes the server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from gilviz.core import report
from gilviz.core.errors import BadInput
from gilviz.core.protocol import WATCH_POOL
from gilviz.core.recording.recorder import Recorder
from gilviz.core.running import workloads
from gilviz.core.running.fetchserver import FetchServer
from gilviz.core.running.session import Run
from gilviz.core.running.spec import PLACEHOLDER_URL, RunSpec
from gilviz.core.running.watch import Watch

SpecMaker = Callable[[str | None], list[RunSpec]]
#: How often run_all looks at the run in progress (and reports it).
POLL_S = 0.2


def needs_server(specs: list[RunSpec]) -> bool:
    return any((w := workloads.describe(s.workload)) is not None and w.needs_server for s in specs)


def by_python(specs: list[RunSpec], items: list[Any]) -> list[tuple[str | None, list[Any]]]:
    """``items`` (one per spec, e.g. the runs' summaries) grouped by the interpreter each
    spec ran on (its ``--python``; None: gilviz's own), in the order they first appear."""
    groups: dict[str | None, list[Any]] = {}
    for spec, item in zip(specs, items, strict=True):
        groups.setdefault(spec.python, []).append(item)
    return list(groups.items())


class PlanRun:
    """The runs of a plan, with their shared resources held while the plan is open."""

    def __init__(
        self,
        make_specs: SpecMaker,
        *,
        delay_s: float = 0.2,
        port: int = 0,
        server: bool | None = None,
        recorder: Recorder | None = None,
        sample_hz: float = 50.0,
        force_fallback: bool = False,
        record_plan: dict[str, Any] | None = None,
        watch_output: int | None = None,
        watch_log: str | None = None,
    ) -> None:
        self._make_specs = make_specs
        self._delay_s = delay_s
        self._port = port
        self._server = server  # None: as the specs' workloads need
        self.recorder = recorder
        self.sample_hz = sample_hz
        self.force_fallback = force_fallback
        #: a watched program's output: this file descriptor, else the log file, else nowhere
        self.watch_output = watch_output
        self.watch_log = watch_log
        self.specs: list[RunSpec] = []
        self.run: Run | Watch | None = None  # the run in progress, if any
        self._record_index: int | None = None
        #: How the runs are shown (a recording's ``plan`` line), written before the first.
        self._record_plan = record_plan
        self._plan_index: int | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> PlanRun:
        try:
            url = None
            wanted = self._server
            if wanted is None:
                wanted = needs_server(self._make_specs(PLACEHOLDER_URL))
            if wanted:
                server = FetchServer(delay_s=self._delay_s, port=self._port)
                url = self._stack.enter_context(server).url
            self.specs = list(self._make_specs(url))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the run in progress (bounded: session.STOP_TIMEOUT_S, then kill), record
        how it ended, close the server."""
        try:
            if self.run is not None:
                self.run.stop()
                self.finish(self.run)
        finally:
            self._stack.close()

    def start(self, index: int) -> Run | Watch:
        """Start the plan's ``index``-th run (from the main thread: PR_SET_PDEATHSIG)."""
        spec = self.specs[index]
        run: Run | Watch
        if spec.pool == WATCH_POOL:
            run = Watch(
                spec,
                sample_hz=self.sample_hz,
                force_fallback=self.force_fallback,
                output=self.watch_output,
                log_path=self.watch_log,
            )
        else:
            run = Run(spec, sample_hz=self.sample_hz, force_fallback=self.force_fallback)
        if self.recorder is not None:
            if self._record_plan is not None and self._plan_index is None:
                self._plan_index = self.recorder.plan(self._record_plan)
            self._record_index = self.recorder.attach(run, plan=self._plan_index)
        self.run = run
        try:
            run.start()
        except BaseException:
            self.run = None
            raise
        return run

    def finish(self, run: Run | Watch) -> dict[str, Any]:
        """An ended run's summary (the JSON entry); its end goes into the recording."""
        summary = report.run_summary(run.model)
        if run.model.bad_input and not summary["error"]:
            summary["error"] = run.model.bad_input
        if run is self.run:
            self.run = None
            if self.recorder is not None and self._record_index is not None and run.done:
                self.recorder.run_ended(self._record_index, run, summary)
                self._record_index = None
        return summary

    def run_all(
        self, on_progress: Callable[[int, Run | Watch], None] | None = None
    ) -> list[Run | Watch]:
        """Every run, one after the other, each waited for; BadInput if the runner refused
        a workload. ``on_progress(index, run)`` is called as each run starts and every
        POLL_S while it goes. A Ctrl-C or signal raised meanwhile stops the run in order
        (close)."""
        done = []
        for i in range(len(self.specs)):
            run = self.start(i)
            if on_progress is not None:
                on_progress(i, run)
            while not run.wait(POLL_S):
                if on_progress is not None:
                    on_progress(i, run)
            self.finish(run)
            if run.model.bad_input:
                raise BadInput(run.model.bad_input)
            done.append(run)
        return done
