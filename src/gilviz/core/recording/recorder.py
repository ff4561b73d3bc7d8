"""Recording: a versioned JSONL stream of everything the model saw, written as it happens
(``reader`` reads it back into models that give the same numbers).

    Run.model.tap ──> Recorder (in-memory queue) ──flusher thread, every 0.5 s──> FILE.jsonl

Lines: a ``header`` (format version, gilviz and Python versions, machine, preset, settings),
a ``plan`` line before the first run of each plan (how its runs were shown), then per run a
``run`` line (spec, sampler method, usable CPUs, start time), ``m`` lines
(runner messages), ``t`` lines (sampler ticks with the model's clock), and an ``end`` line
(status, fatal error, achieved sampling rate, end time, the summary as printed). A killed
gilviz loses at most the last second; a truncated last line is skipped on replay.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gilviz
from gilviz.core.errors import BadInput
from gilviz.core.measuring import machine
from gilviz.core.model import RunModel
from gilviz.core.protocol import encode
from gilviz.core.recording.lines import FORMAT, core_row, sample_row

FLUSH_S = 0.5


def _load1() -> float | None:
    """The 1-minute load average as a run ends: a claim checked on a replay notes a busy
    machine as the live one did."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def terminal_size() -> list[int] | None:
    """[columns, rows] of the terminal gilviz writes to (stdout, else stderr), or None:
    exports draw the session at the size it was seen."""
    for stream in (sys.stdout, sys.stderr):
        try:
            size = os.get_terminal_size(stream.fileno())
        except (AttributeError, OSError, ValueError):
            continue
        if size.columns > 0 and size.lines > 0:
            return [size.columns, size.lines]
    return None


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
        self._plans = 0
        self._put(
            {
                "type": "header",
                "format": FORMAT,
                "gilviz": gilviz.__version__,
                "python": machine.python_info(),
                "machine": machine.machine_info(),
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

    def plan(self, info: dict[str, Any]) -> int:
        """Record how the runs of a plan are shown (see ``lines``); returns its index, for
        ``attach``."""
        index = self._plans
        self._plans += 1
        self._put({"type": "plan", "plan": index, **info})
        return index

    def attach(self, run: Any, plan: int | None = None) -> int:
        """Record this session.Run (call before it starts), of the plan ``plan`` if given;
        returns its index."""
        index = self._runs
        self._runs += 1
        model: RunModel = run.model
        line = {
            "type": "run",
            "run": index,
            "spec": run.spec.to_json(),
            "method": model.method,
            "usable_cpus": sorted(model.cores),
            "started_ns": model.started_ns,
        }
        if plan is not None:
            line["plan"] = plan
        self._put(line)

        def tap(kind: str, payload: Any) -> None:
            if kind == "msg":
                self._put({"type": "m", "run": index, "m": encode(payload)})
            else:
                samples, core, now = payload
                self._put(
                    {
                        "type": "t",
                        "run": index,
                        "now": now,
                        "s": [sample_row(s) for s in samples],
                        "c": core_row(core),
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
                "failure": model.failure(),
                "sample_hz": model.sample_hz,
                "ended_ns": model.ended_ns,
                "summary": summary,
                "load1": _load1(),
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
