"""Replay: a recording read back into one model per run, re-fed in the recorded order, so it
gives the numbers the live session gave.

    FILE.jsonl ──read_recording()──> Recording ── runs: RunRecord (model, log, how it ended)
                                                        │
                                     exports and the player re-fold ``log`` into fresh models

A truncated last line (gilviz killed mid-write) is skipped; a run without its ``end`` line
is finished as failed where the recording stops.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gilviz
from gilviz.core.errors import BadInput
from gilviz.core.model import RunModel
from gilviz.core.protocol import Failure, RunStatus, decode
from gilviz.core.recording.lines import FORMAT, core_of, sample_of
from gilviz.core.running.spec import RunSpec


@dataclass
class RunRecord:
    """One recorded run: its model as replayed, the log it was replayed from (decoded
    runner messages and sampler ticks, in the order the live model saw them), the model's
    clock at the last tick, and the recorded ``end`` line (None if the recording stops
    before it)."""

    model: RunModel
    log: list[tuple[str, Any]] = field(default_factory=list)
    last_now: int = 0
    end: dict[str, Any] | None = None
    plan: int | None = None  # the recorded plan it belongs to (Recording.plans)

    def refold(self, fold_tap=None) -> RunModel:
        """A fresh model fed the same log and finished the same way."""
        src = self.model
        fresh = RunModel(src.spec, src.method, sorted(src.cores), started_ns=src.started_ns)
        fresh.fold_tap = fold_tap
        for kind, payload in self.log:
            if kind == "msg":
                fresh.on_message(payload)
            else:
                samples, core, now = payload
                fresh.on_tick(samples, core, now=now)
        fresh.fatal, fresh.fatal_kind = src.fatal, src.fatal_kind
        fresh.sample_hz = src.sample_hz
        fresh.finish(src.status, now=src.ended_ns)
        return fresh


@dataclass
class Recording:
    header: dict[str, Any]
    runs: list[RunRecord] = field(default_factory=list)
    #: The ``plan`` lines by index: how their runs were shown (recordings before them: {}).
    plans: dict[int, dict[str, Any]] = field(default_factory=dict)
    truncated: bool = False
    skipped_lines: int = 0

    @property
    def models(self) -> list[RunModel]:
        return [r.model for r in self.runs]

    def plan_groups(self) -> list[tuple[int | None, int, int]]:
        """``(plan, first, count)`` for each stretch of runs recorded in one plan (plan
        None: a recording without ``plan`` lines, all of its runs)."""
        groups: list[tuple[int | None, int, int]] = []
        for i, run in enumerate(self.runs):
            if groups and groups[-1][0] == run.plan:
                plan, first, count = groups[-1]
                groups[-1] = (plan, first, count + 1)
            else:
                groups.append((run.plan, i, 1))
        return groups


def read_recording(path: str | os.PathLike) -> Recording:
    """Rebuild every run's model from a recording; BadInput if it is not one we can read."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"no such recording: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"cannot read the recording {p}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    lines = text.split("\n")
    rec: Recording | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            if number >= len(lines) - 1:  # the last line, cut short by a kill: tolerated
                if rec is not None:
                    rec.truncated = True
                continue
            raise BadInput(f"{p}:{number}: not a gilviz recording line (bad JSON)") from None
        if rec is None:
            if obj.get("type") != "header":
                raise BadInput(f"{p}:{number}: not a gilviz recording (no header)")
            version = obj.get("format")
            if version != FORMAT:
                raise BadInput(
                    f"{p}: recording format {version!r} is not supported by gilviz "
                    f"{gilviz.__version__} (it reads format {FORMAT})"
                )
            rec = Recording(header=obj)
            continue
        _apply(rec, obj)
    if rec is None:
        raise BadInput(f"{p}: empty file, not a gilviz recording")
    for run in rec.runs:
        if run.end is None:  # killed mid-run: fold what there is
            model = run.model
            if not model.fatal:
                model.fail(Failure.RUNNER_DIED, "the recording ends here (gilviz was stopped)")
            model.finish(RunStatus.FAILED, now=run.last_now)
    return rec


def _apply(rec: Recording, obj: dict[str, Any]) -> None:
    kind = obj.get("type")
    if kind == "run":
        spec = RunSpec.from_json(obj["spec"])
        model = RunModel(spec, obj["method"], obj["usable_cpus"], started_ns=obj["started_ns"])
        plan = obj.get("plan")
        rec.runs.append(
            RunRecord(
                model,
                last_now=obj["started_ns"],
                plan=plan if isinstance(plan, int) and plan in rec.plans else None,
            )
        )
        return
    if kind == "plan":
        if isinstance(obj.get("plan"), int):
            rec.plans[obj["plan"]] = obj
        else:
            rec.skipped_lines += 1
        return
    index = obj.get("run")
    if not isinstance(index, int) or not 0 <= index < len(rec.runs):
        rec.skipped_lines += 1
        return
    run = rec.runs[index]
    model = run.model
    if kind == "m":
        msg = decode(obj["m"])
        if msg is None:
            rec.skipped_lines += 1
            return
        run.log.append(("msg", msg))
        model.on_message(msg)
    elif kind == "t":
        samples = [sample_of(row) for row in obj["s"]]
        core = core_of(obj["c"])
        run.log.append(("tick", (samples, core, obj["now"])))
        model.on_tick(samples, core, now=obj["now"])
        run.last_now = obj["now"]
    elif kind == "end":
        model.fatal = obj["fatal"]
        if obj["fatal"]:
            model.fatal_kind = Failure.of(obj.get("failure")) or _kind_of(obj["status"])
        model.sample_hz = obj["sample_hz"]
        model.finish(obj["status"], now=obj["ended_ns"])
        run.end = obj
    else:
        rec.skipped_lines += 1


def _kind_of(status: str) -> Failure:
    # Recordings made before the end line carried the kind: the status tells it.
    return Failure.KILLED if status == RunStatus.STOPPED else Failure.RUNNER_DIED
