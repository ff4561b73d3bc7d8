"""The lines of a recording (JSONL), defined once for the recorder and the reader.

{"type": "header", "format": FORMAT, "gilviz", "python", "machine", "created", "settings"}
{"type": "plan", "plan": n, "kind", "label", "labels", "preset", "preset_name", "step"}
{"type": "run", "run": i, "spec", "method", "usable_cpus", "started_ns", "plan": n or absent}
{"type": "m", "run": i, "m": <a runner message, protocol.encode>}
{"type": "t", "run": i, "now": ns, "s": [sample rows], "c": core row or null}
{"type": "end", "run": i, "status", "fatal", "failure", "sample_hz", "ended_ns", "summary",
 "load1": the 1-minute load average then (absent in older recordings)}

A ``plan`` line (optional, before its first run) says how the runs that name it were shown:
``kind`` run (dashboard, or ``gilviz run``), race, talk or compare (``gilviz compare``), the
plan's label and pool labels, its preset (``presets.preset_json``) and, in a talk, its
``step`` [i, n]. The header's ``settings`` may hold ``terminal`` [columns, rows], the size
of the terminal the session began in, and ``fps``, the panel rate of a TUI session. Readers
skip line types they do not know, so these additions keep the format number.
"""

from __future__ import annotations

from typing import Any

from gilviz.core.measuring.samples import CoreSample, ThreadSample

FORMAT = 1


def sample_row(s: ThreadSample) -> list[Any]:
    return [
        s.wid, s.t_ns, s.dt_ns, s.shares, s.state, s.cpu_ns, s.processor, s.letter,
        s.syscall, s.gil_holder, s.excess_run_ns, s.excess_wait_ns,
    ]  # fmt: skip


def sample_of(row: list[Any]) -> ThreadSample:
    return ThreadSample(*row)


def core_row(c: CoreSample | None) -> list[Any] | None:
    return None if c is None else [c.t_ns, c.dt_ns, {str(k): v for k, v in c.busy.items()}]


def core_of(row: list[Any] | None) -> CoreSample | None:
    if row is None:
        return None
    return CoreSample(row[0], row[1], {int(k): v for k, v in row[2].items()})
