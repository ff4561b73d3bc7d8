"""Recorded snapshots: RunSnapshot to and from JSON, and the machine facts a view shows.

Used by the tests and the screenshot script to feed the app fixed data (a recorded run, a
synthetic 128-core machine) so that pictures are deterministic. No Textual import.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gilviz.core.measuring import machine
from gilviz.core.model import CoreView, RunSnapshot, WorkerView
from gilviz.core.running.spec import RunSpec


@dataclass(frozen=True)
class Machine:
    """What the cores panel states about this machine."""

    cores_logical: int
    usable_cpus: tuple[int, ...]
    quota: float | None  # CPUs granted by the cgroup quota, None when unlimited
    cores_usable: int
    python: str = ""
    gil_enabled: bool = True
    pools: dict[str, str | None] = field(default_factory=dict)  # kind -> None or why not

    @classmethod
    def here(cls) -> Machine:
        import platform

        pools: dict[str, str | None] = {}
        try:
            pools = dict(machine.interpreter_info(None).pools)
        except (OSError, ValueError):
            pools = {"serial": None, "thread": None, "process": None}
        return cls(
            cores_logical=machine.cores_logical(),
            usable_cpus=tuple(machine.usable_cpus()),
            quota=machine.cgroup_cpu_limit(),
            cores_usable=machine.cores_usable(),
            python=f"{platform.python_implementation()} {platform.python_version()}",
            gil_enabled=machine.gil_enabled(),
            pools=pools,
        )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["usable_cpus"] = list(self.usable_cpus)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Machine:
        d = dict(d)
        d["usable_cpus"] = tuple(d["usable_cpus"])
        return cls(**d)


#: One letter per state in stored timelines (a 600-sample timeline is then 600 bytes).
STATE_CODE = {
    "running": "R",
    "gil_wait": "G",
    "io_wait": "I",
    "lock_wait": "L",
    "runnable": "q",
    "idle": ".",
    "n/a": "?",
}
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
    return RunSnapshot(**d)


@dataclass
class RecordedRun:
    """One run as recorded: its spec, a snapshot taken while it ran, the final one, and
    the summary (``RunModel.summary()``) the headless CLI would print."""

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
