"""Fixtures: runs kept as snapshots (a live one and the final one per run) in a JSON file,
and :class:`ReplayController`, which hands them out as if they ran.

The tests and the screenshot script feed the app this fixed data (a recorded run, a
synthetic 128-core machine) so that pictures are deterministic. No Textual import.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from gilviz.core import report
from gilviz.core.model import CoreView, RunSnapshot, WorkerView
from gilviz.core.protocol import STATE_LETTER, STOP_TIMEOUT_S, Control, encode_control
from gilviz.core.running.spec import PLACEHOLDER_URL, RunSpec
from gilviz.tui.controllers.base import Plan, Progress
from gilviz.tui.machine import Machine

#: One letter per state in stored timelines (a 600-sample timeline is then 600 bytes).
STATE_CODE = STATE_LETTER
CODE_STATE = {v: k for k, v in STATE_CODE.items()}


def snapshot_to_json(s: RunSnapshot) -> dict[str, Any]:
    d = asdict(s)
    d["workers"] = [
        {**asdict(w), "timeline": "".join(STATE_CODE.get(x, "?") for x in w.timeline)}
        for w in s.workers
    ]
    d["cores"] = [{**asdict(c), "history": [round(h, 3) for h in c.history]} for c in s.cores]
    return d


def snapshot_from_json(d: dict[str, Any]) -> RunSnapshot:
    d = dict(d)
    d["workers"] = tuple(
        WorkerView(**{**w, "timeline": tuple(CODE_STATE[x] for x in w["timeline"])})
        for w in d["workers"]
    )
    d["cores"] = tuple(CoreView(**{**c, "history": tuple(c["history"])}) for c in d["cores"])
    d["latency_series"] = tuple(d["latency_series"])
    d["throughput_series"] = tuple(d["throughput_series"])
    d["tasks_over_time"] = tuple(d.get("tasks_over_time", ()))
    d["state_time"] = tuple(tuple(r) for r in d.get("state_time", ()))
    return RunSnapshot(**d)


@dataclass
class RecordedRun:
    """One run as recorded: its spec, a snapshot taken while it ran, the final one, and
    the summary (``report.run_summary()``) the headless CLI would print."""

    spec: RunSpec
    live: RunSnapshot
    final: RunSnapshot
    summary: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_json(),
            "live": snapshot_to_json(self.live),
            "final": snapshot_to_json(self.final),
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RecordedRun:
        return cls(
            spec=RunSpec.from_json(d["spec"]),
            live=snapshot_from_json(d["live"]),
            final=snapshot_from_json(d["final"]),
            summary=d["summary"],
        )


@dataclass
class Recording:
    """A fixture file: the machine it was made on and its runs."""

    machine: Machine
    runs: list[RecordedRun]
    note: str = ""

    def save(self, path: str | Path) -> None:
        doc = {
            "note": self.note,
            "machine": self.machine.to_json(),
            "runs": [r.to_json() for r in self.runs],
        }
        Path(path).write_text(json.dumps(doc, separators=(",", ":")) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        doc = json.loads(Path(path).read_text())
        return cls(
            machine=Machine.from_json(doc["machine"]),
            runs=[RecordedRun.from_json(r) for r in doc["runs"]],
            note=doc.get("note", ""),
        )

    def by_pool(self, pool: str) -> RecordedRun | None:
        return next((r for r in self.runs if r.spec.pool == pool), None)


class ReplayController:
    """Plays a recording instead of running anything: each spec of a plan is matched to the
    recorded run of the same pool. ``finish=False`` holds the first run at its "live"
    snapshot (a run in progress); ``finish=True`` shows every run ended."""

    def __init__(self, recording: Any, finish: bool = False) -> None:
        self.recording = recording
        self.finish = finish
        self.sent: list[str] = []  # the control lines the runner would have been sent
        self._progress = Progress()
        self._generation = 0

    def _recorded(self, spec: RunSpec) -> Any:
        return self.recording.by_pool(spec.pool) or self.recording.runs[0]

    def begin(self, plan: Plan) -> None:
        self._generation += 1
        specs = plan.make_specs(PLACEHOLDER_URL if plan.needs_server else None)
        recs = [self._recorded(s) for s in specs]
        if self.finish:
            summaries = [dict(r.summary) for r in recs]
            report.fill_speedups(summaries, cores=self.recording.machine.cores_usable)
            self._progress = Progress(
                plan=plan,
                specs=tuple(specs),
                index=len(specs) - 1,
                snapshot=recs[-1].final,
                finals=tuple(r.final for r in recs),
                summaries=tuple(summaries),
                state="done",
                generation=self._generation,
            )
        else:
            self._progress = Progress(
                plan=plan,
                specs=tuple(specs),
                index=0,
                snapshot=recs[0].live,
                finals=(None,) * len(specs),
                summaries=(None,) * len(specs),
                state="running",
                generation=self._generation,
            )

    def poll(self) -> Progress:
        return self._progress

    def stop(self) -> None:
        p = self._progress
        if p.active:
            self._progress = replace(p, state="stopped")

    def send(self, command: Control) -> None:
        self.sent.append(encode_control(command))

    def shutdown(self, timeout: float = STOP_TIMEOUT_S) -> None:
        self.stop()
