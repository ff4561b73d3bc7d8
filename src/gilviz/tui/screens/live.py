"""What the screens that show a run (dashboard, race, talk) share: the live panels and the
status line (a run that failed says so, in the failure colour, with its whole error),
scrolling the worker rows, and asking the app for runs by message.

    screen ──StartPlan / StopRun / SendToRunner──> app ──> controller
    app tick ──progress (reactive)──> show_progress(): only the screen's own plan is drawn
"""

from __future__ import annotations

from gilviz.core.model import RunSnapshot
from gilviz.core.protocol import Control, RunStatus
from gilviz.tui.controllers.base import Plan, Progress
from gilviz.tui.messages import SendToRunner, StartPlan, StopRun
from gilviz.tui.screens.base import GilvizScreen
from gilviz.tui.widgets.info import LivePanels, StatusLine


class LiveRunScreen(GilvizScreen):
    panels: LivePanels
    status: StatusLine

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._plan: Plan | None = None  # the plan this screen asked for last

    def make_panels(self) -> LivePanels:
        app = self.app
        self.panels = LivePanels(
            app.machine, app.look, app.sample_hz, app.chart_hz, clock=app.clock
        )
        return self.panels

    def make_status(self) -> StatusLine:
        self.status = StatusLine(look=self.app.look)
        return self.status

    # --- asking the app ------------------------------------------------------------------

    def start_plan(self, plan: Plan) -> None:
        self._plan = plan
        self.post_message(StartPlan(plan))

    def stop_run(self) -> None:
        self.post_message(StopRun())

    def send_to_runner(self, command: Control) -> None:
        self.post_message(SendToRunner(command))

    def is_mine(self, progress: Progress) -> bool:
        """Whether ``progress`` is of the plan this screen asked for last."""
        return self._plan is not None and progress.plan is self._plan

    # --- shared views and keys -----------------------------------------------------------

    @staticmethod
    def run_state(progress: Progress) -> tuple[str, str | None]:
        """What the status line says of the run on screen: its state and its error.

        The plan's state is not enough: a plan runs on after a run that failed (a crash is
        the run's end, not the plan's), so the run on screen speaks for itself."""
        snap = progress.snapshot
        state = progress.state
        error = progress.error
        if snap is None:
            return state, error
        status = RunStatus(snap.status)
        if state == "running" and status is RunStatus.STARTING:
            state = "starting"
        elif status is RunStatus.FAILED and state in ("running", "done"):
            state = "failed"
        if status.ended and state in ("failed", "stopped"):
            error = error or snap.error
        if state == "stopped" and error == "stopped":
            error = None  # the state says it already
        return state, error

    def chart_runs(self, progress: Progress) -> tuple[tuple[str, RunSnapshot], ...] | None:
        """The runs of the plan so far, labelled, for the chart (None: the shown one)."""
        if len(progress.specs) < 2:
            return None
        out = []
        for i, spec in enumerate(progress.specs):
            snap = progress.finals[i] if i < len(progress.finals) else None
            if i == progress.index and progress.snapshot is not None:
                snap = progress.snapshot
            if snap is not None:
                label = progress.plan.label_of(i, spec) if progress.plan else spec.pool
                out.append((label, snap))
        return tuple(out)

    def show_panels(self, progress: Progress) -> None:
        self.panels.show(progress.snapshot, self.chart_runs(progress))

    @staticmethod
    def run_of(progress: Progress) -> str:
        """ "run 2/3 · ": which run of a plan of several the status line speaks of."""
        return f"run {progress.index + 1}/{len(progress.specs)} · "

    def fit_to(self, width: int, height: int) -> None:
        self.panels.fit_to(width, height)

    def action_scroll_workers(self, delta: int) -> None:
        self.panels.timelines.scroll_rows(delta)
