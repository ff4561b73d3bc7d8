"""What the screens that show a run (dashboard, race, talk) share: the live panels and the
status line, scrolling the worker rows, and asking the app for runs by message.

    screen ──StartPlan / StopRun / SendToRunner──> app ──> controller
    app tick ──progress (reactive)──> show_progress(): only the screen's own plan is drawn
"""

from __future__ import annotations

from gilviz.core.protocol import Control
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
    def run_of(progress: Progress) -> str:
        """ "run 2/3 · ": which run of a plan of several the status line speaks of."""
        return f"run {progress.index + 1}/{len(progress.specs)} · "

    def fit_to(self, width: int, height: int) -> None:
        self.panels.fit_to(width, height)

    def action_scroll_workers(self, delta: int) -> None:
        self.panels.timelines.scroll_rows(delta)
