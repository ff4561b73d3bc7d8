"""Recording and replay: a versioned JSONL stream of everything the model saw, written as
it happens, and read back into models that give the same numbers.

    Run.model.tap ──> Recorder (in-memory queue) ──flusher thread, every 0.5 s──> FILE.jsonl
    FILE.jsonl ──> read_recording() ──> RunModel per run (re-fed in the recorded order)

Lines: a ``header`` (format version, gilviz and Python versions, machine, preset, settings),
then per run a ``run`` line (spec, sampler method, usable CPUs, start time), ``m`` lines
(runner messages), ``t`` lines (sampler ticks with the model's clock), and an ``end`` line
(status, fatal error, achieved sampling rate, end time, the summary as printed). A killed
gilviz loses at most the last second; a truncated last line is skipped on replay.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gilviz
from gilviz.core import platform as gplatform
from gilviz.core.errors import BadInput
from gilviz.core.model import RunModel
from gilviz.core.samples import CoreSample, ThreadSample
from gilviz.core.spec import RunSpec

FORMAT = 1
FLUSH_S = 0.5


def _sample_row(s: ThreadSample) -> list[Any]:
    return [
        s.wid, s.t_ns, s.dt_ns, s.shares, s.state, s.cpu_ns, s.processor, s.letter,
        s.syscall, s.gil_holder, s.excess_run_ns, s.excess_wait_ns,
    ]  # fmt: skip


def _core_row(c: CoreSample | None) -> list[Any] | None:
    return None if c is None else [c.t_ns, c.dt_ns, {str(k): v for k, v in c.busy.items()}]


class Recorder:
    """Writes a session's recording incrementally; never blocks the model's lock on I/O."""

    def __init__(self, path: str | os.PathLike, settings: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        try:
            self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - kept open
        except OSError as exc:
            raise BadInput(
                f"cannot write the recording {self.path}: {exc.strerror or exc}"
            ) from None
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._stop = threading.Event()
        self.error: str | None = None
        self.lines_written = 0
        self._runs = 0
        self._put(
            {
                "type": "header",
                "format": FORMAT,
                "gilviz": gilviz.__version__,
                "python": gplatform.python_info(),
                "machine": gplatform.machine_info(),
                "created": time.time(),
                "settings": settings or {},
            }
        )
        self.flush()
        self._thread = threading.Thread(target=self._loop, name="gilviz-recorder", daemon=True)
        self._thread.start()

    def _put(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, separators=(",", ":"))
        with self._lock:
            self._lines.append(line)

    def attach(self, run: Any) -> int:
        """Record this session.Run (call before it starts); returns its index."""
        index = self._runs
        self._runs += 1
        model: RunModel = run.model
        self._put(
            {
                "type": "run",
                "run": index,
                "spec": run.spec.to_json(),
                "method": model.method,
                "usable_cpus": sorted(model.cores),
                "started_ns": model.started_ns,
            }
        )

        def tap(kind: str, payload: Any) -> None:
            if kind == "msg":
                self._put({"type": "m", "run": index, "m": payload})
            else:
                samples, core, now = payload
                self._put(
                    {
                        "type": "t",
                        "run": index,
                        "now": now,
                        "s": [_sample_row(s) for s in samples],
                        "c": _core_row(core),
                    }
                )

        model.tap = tap
        return index

    def run_ended(self, index: int, run: Any, summary: dict[str, Any]) -> None:
        model: RunModel = run.model
        self._put(
            {
                "type": "end",
                "run": index,
                "status": model.status,
                "fatal": model.fatal,
                "sample_hz": model.sample_hz,
                "ended_ns": model.ended_ns,
                "summary": summary,
            }
        )
        self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        if not lines or self.error is not None:
            return
        try:
            self._file.write("\n".join(lines) + "\n")
            self._file.flush()
            self.lines_written += len(lines)
        except OSError as exc:
            # Disk full, file too big: keep what is there, say so once, carry on measuring.
            self.error = f"recording {self.path} stopped: {exc.strerror or exc}"

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_S):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()
        try:
            self._file.close()
        except OSError as exc:
            self.error = self.error or f"recording {self.path}: {exc.strerror or exc}"


@dataclass
class Recording:
    header: dict[str, Any]
    models: list[RunModel] = field(default_factory=list)
    ends: list[dict[str, Any] | None] = field(default_factory=list)
    truncated: bool = False
    skipped_lines: int = 0


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
    for model, end in zip(rec.models, rec.ends, strict=True):
        if end is None:  # killed mid-run: fold what there is
            model.fatal = model.fatal or "the recording ends here (gilviz was stopped)"
            model.finish("failed", now=model._last_now)
    return rec


def _apply(rec: Recording, obj: dict[str, Any]) -> None:
    kind = obj.get("type")
    if kind == "run":
        spec = RunSpec.from_json(obj["spec"])
        model = RunModel(spec, obj["method"], obj["usable_cpus"], started_ns=obj["started_ns"])
        model._last_now = obj["started_ns"]
        model.replay_log = []  # what exports re-fold
        rec.models.append(model)
        rec.ends.append(None)
        return
    index = obj.get("run")
    if not isinstance(index, int) or not 0 <= index < len(rec.models):
        rec.skipped_lines += 1
        return
    model = rec.models[index]
    if kind == "m":
        model.replay_log.append(("msg", obj["m"]))
        model.on_message(obj["m"])
    elif kind == "t":
        samples = [ThreadSample(*row) for row in obj["s"]]
        c = obj["c"]
        core = None if c is None else CoreSample(c[0], c[1], {int(k): v for k, v in c[2].items()})
        model.replay_log.append(("tick", (samples, core, obj["now"])))
        model.on_tick(samples, core, now=obj["now"])
        model._last_now = obj["now"]
    elif kind == "end":
        model.fatal = obj["fatal"]
        model.sample_hz = obj["sample_hz"]
        model.finish(obj["status"], now=obj["ended_ns"])
        rec.ends[index] = obj
    else:
        rec.skipped_lines += 1
