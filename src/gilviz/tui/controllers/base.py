"""What the screens and the controllers share: a :class:`Plan` (what to run), the
:class:`Progress` a controller hands out (immutable), and the :class:`Controller` interface
that live runs, fixtures and recordings each implement.

    screen ──StartPlan(plan)──> app ──begin(plan)──> controller
    app timer ──poll()──> Progress ──screen.progress (a reactive)──> panels

No Textual import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gilviz.core.model import RunSnapshot
from gilviz.core.protocol import STOP_TIMEOUT_S, Control
from gilviz.core.running.spec import RunSpec


@dataclass(frozen=True)
class Plan:
    """What to run: a label for the screen, and the specs (built once the local HTTP server,
    when the workload needs one, knows its URL)."""

    label: str
    make_specs: Callable[[str | None], list[RunSpec]]
    needs_server: bool = False
    delay_s: float = 0.2
    preset_name: str | None = None
    kind: str = "run"  # run (dashboard), race, talk
    labels: tuple[str, ...] = ()  # how each run is named on screen (default: its pool)
    #: The preset on screen (preset_name is None when its settings were changed), and a
    #: talk's step (i, n): kept in a recording, to show the runs as they were shown.
    preset: Any = None
    step: tuple[int, int] | None = None
    #: A line the screen shows with the plan's runs: what was left out and why (a pool
    #: this Python lacks).
    note: str | None = None

    def record(self) -> dict[str, Any]:
        """This plan as a recording's ``plan`` line (core.recording.lines)."""
        from gilviz.core.teaching.presets import preset_json

        return {
            "kind": self.kind,
            "label": self.label,
            "labels": list(self.labels),
            "preset": preset_json(self.preset) if self.preset is not None else None,
            "preset_name": self.preset_name,
            "step": list(self.step) if self.step else None,
        }

    def label_of(self, i: int, spec: RunSpec) -> str:
        return self.labels[i] if i < len(self.labels) else spec.pool


@dataclass(frozen=True)
class Progress:
    """The state of the current plan at one moment; immutable."""

    plan: Plan | None = None
    specs: tuple[RunSpec, ...] = ()
    index: int = 0
    snapshot: RunSnapshot | None = None
    finals: tuple[RunSnapshot | None, ...] = ()
    summaries: tuple[dict[str, Any] | None, ...] = ()
    state: str = "idle"  # idle, queued, running, stopping, done, stopped, failed
    error: str | None = None
    generation: int = 0

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running", "stopping")

    @property
    def finished(self) -> bool:
        return self.state in ("done", "stopped", "failed")

    @property
    def spec(self) -> RunSpec | None:
        return self.specs[self.index] if self.index < len(self.specs) else None


class Controller(Protocol):
    def begin(self, plan: Plan) -> None: ...
    def poll(self) -> Progress: ...
    def stop(self) -> None: ...
    def send(self, command: Control) -> None: ...
    def shutdown(self, timeout: float = STOP_TIMEOUT_S) -> None: ...


#: What a screen shows for a plan that waits for the previous run to end.
QUEUED_TEXT = "waiting for the previous run to end"
