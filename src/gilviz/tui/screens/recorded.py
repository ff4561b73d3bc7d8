"""The screens a recorded scene (``controllers.player.Scene``) is drawn on for an export: the
dashboard, the race or the talk step that showed its runs live, set up from what the
recording holds (the preset, the settings, the step) and fed by the player's progress
instead of starting runs.

    tui.export ─> screen_for(scene) ─> RecordedDashboard | RaceScreen | RecordedTalk
    app tick ──player progress (plan = scene.plan)──> the screen draws it as it did live
"""

from __future__ import annotations

from textual.screen import Screen

from gilviz.core.protocol import WATCH_POOL
from gilviz.core.teaching.presets import ClaimResult, Preset
from gilviz.tui import deck as gdeck
from gilviz.tui.controllers.player import Scene
from gilviz.tui.screens.dashboard import DashboardScreen
from gilviz.tui.screens.race import RaceScreen
from gilviz.tui.screens.talk import TalkScreen


class RecordedDashboard(DashboardScreen):
    """The dashboard on the settings the scene's (first) run was started with; a watched
    program's (``gilviz watch``, ``attach``) as it was watched."""

    def __init__(self, scene: Scene, **kw) -> None:
        watched = scene.plan.make_specs(None)[0].pool == WATCH_POOL
        super().__init__(
            preset=scene.preset,
            plan=scene.plan if watched else None,
            log="not in the recording" if watched else None,
            **kw,
        )
        self.scene = scene

    def _from_run(self) -> None:
        spec = self.scene.plan.make_specs(None)[0]
        self.workload, self.pool = spec.workload, spec.pool
        self.n_workers, self.tasks, self.task_size = spec.workers, spec.tasks, spec.size
        self.modified = self.scene.modified

    def load_preset(self, preset: Preset) -> None:
        super().load_preset(preset)
        self._from_run()
        self._update_texts()

    def _set_workload(self, name: str) -> None:
        super()._set_workload(name)
        self._from_run()


class RecordedTalk(TalkScreen):
    """A talk step: its banner, narration and claim, the claim checked on the recorded
    machine's usable cores and load average."""

    def __init__(self, scene: Scene, cores: int, **kw) -> None:
        i, _ = scene.step or (0, 1)
        super().__init__(start=i, **kw)
        self.scene = scene
        self.cores = cores

    @property
    def preset(self) -> Preset | None:
        return self.scene.preset

    def go(self, index: int) -> None:
        i, n = self.scene.step or (0, 1)
        self.index = i
        if self.scene.preset is not None:
            self.show_step(self.scene.preset, i, n)
        self._plan = self.scene.plan  # the progress it draws is the scene's

    def check_claim(self, preset: Preset, runs: list[dict]) -> ClaimResult:
        return gdeck.check(preset, runs, cores=self.cores, load=self.scene.load)


def screen_for(scene: Scene, cores: int) -> Screen:
    """The screen that showed ``scene`` live; ``cores``: the recorded machine's usable ones."""
    if scene.screen == "race":
        return RaceScreen(scene.plan)
    if scene.screen == "talk":
        return RecordedTalk(scene, cores)
    return RecordedDashboard(scene)
