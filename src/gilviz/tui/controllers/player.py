"""``gilviz replay FILE.jsonl``: the controller that plays a recording back.

    virtual clock (pos = anchor + (clock() - anchor_wall) * speed, unless paused)
        └─> RecordingPlayer.poll() ─> per run: a fresh RunModel re-fed from its ``log``
            up to started_ns + pos ─> Progress (same interface as LiveController)

The runs of a recording play one after the other (the gaps between them are skipped), so
the recording lasts the sum of the runs' durations. Seeking forward feeds more of the log;
seeking back rebuilds the model from the start (fine for bounded recordings). At the end,
each model is finished exactly as ``read_recording`` finished it, so the figures are the
recorded ones. The clock is injectable (tests advance it by hand). The screen that shows
it is ``screens.replay.ReplayScreen``. No Textual import.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gilviz.core import report
from gilviz.core.model import RunModel, RunSnapshot
from gilviz.core.protocol import STOP_TIMEOUT_S, Control
from gilviz.core.recording.reader import RunRecord
from gilviz.tui.controllers.base import Plan, Progress
from gilviz.tui.machine import Machine

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)
SEEK_FRACTION = 0.1


class _Track:
    """One recorded run, re-fed into a fresh model up to a time."""

    def __init__(self, record: RunRecord) -> None:
        self.source = source = record.model
        self.started_ns = source.started_ns
        log = record.log
        last = self.started_ns
        self.ended_ns = source.ended_ns if source.ended_ns is not None else self.started_ns
        # Each entry's time: a tick's own clock; a message, the tick before it (it arrived
        # between that tick and the next one).
        self.entries: list[tuple[int, str, Any]] = []
        for kind, payload in log:
            if kind == "tick":
                last = payload[2]
            self.entries.append((last, kind, payload))
            self.ended_ns = max(self.ended_ns, last)
        self.duration_ns = max(0, self.ended_ns - self.started_ns)
        self._final: tuple[RunSnapshot, dict[str, Any]] | None = None
        self.reset()

    def reset(self) -> None:
        src = self.source
        self.model = RunModel(src.spec, src.method, sorted(src.cores), started_ns=self.started_ns)
        self.fed = 0
        self.at_ns = self.started_ns
        self.finished = False

    def advance_to(self, t_ns: int) -> None:
        if t_ns < self.at_ns or (self.finished and t_ns < self.ended_ns):
            self.reset()
        model, entries = self.model, self.entries
        while self.fed < len(entries) and entries[self.fed][0] <= t_ns:
            _, kind, payload = entries[self.fed]
            if kind == "msg":
                model.on_message(payload)
            else:
                samples, core, now = payload
                model.on_tick(samples, core, now=now)
            self.fed += 1
        self.at_ns = max(self.at_ns, t_ns)
        if t_ns >= self.ended_ns and not self.finished:
            src = self.source
            model.fatal, model.fatal_kind = src.fatal, src.fatal_kind
            model.sample_hz = src.sample_hz
            model.finish(src.status, now=src.ended_ns if src.ended_ns is not None else t_ns)
            self.finished = True

    def snapshot(self) -> RunSnapshot:
        snap = self.model.snapshot()
        if self.finished:
            return snap
        # An unfinished model measures its wall time on the real clock: use the replay's.
        wall = max(0.0, (min(self.at_ns, self.ended_ns) - self.started_ns) / 1e9)
        return replace(snap, elapsed_s=wall, parallelism=snap.cpu_s / wall if wall > 0 else None)

    def final(self) -> tuple[RunSnapshot, dict[str, Any]]:
        """The finished run's snapshot and summary (computed once)."""
        if self._final is None:
            self.advance_to(self.ended_ns)
            summary = report.run_summary(self.model)
            if self.model.bad_input and not summary["error"]:
                summary["error"] = self.model.bad_input
            self._final = (self.model.snapshot(), summary)
        return self._final


class RecordingPlayer:
    """A controller (see ``controllers.base.Controller``) that plays a recording
    (``core.recording.reader.Recording``)."""

    def __init__(
        self,
        recording: Any,
        *,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
        speed: float = 1.0,
        paused: bool = False,
    ) -> None:
        self.recording = recording
        self.name = name
        self.machine = machine_of(recording)  # speedups are judged against its cores
        self._clock = clock
        self.tracks = [_Track(r) for r in recording.runs]
        self.offsets: list[float] = []
        total = 0.0
        for t in self.tracks:
            self.offsets.append(total)
            total += t.duration_ns / 1e9
        self.duration_s = total
        self.speed = speed
        self.paused = paused
        self._anchor_pos = 0.0
        self._anchor_wall = clock()
        self._started = False  # the clock starts at the first poll (the app is up)
        specs = [t.source.spec for t in self.tracks]
        self.plan = Plan(
            label=f"replay: {name}",
            make_specs=lambda url: list(specs),
            preset_name=None,  # never written into the reference table
            kind="run",
            labels=tuple(s.label or s.pool for s in specs),
        )

    # --- the virtual clock ---------------------------------------------------------------

    @property
    def position(self) -> float:
        """Seconds into the recording."""
        pos = self._anchor_pos
        if self._started and not self.paused:
            pos += (self._clock() - self._anchor_wall) * self.speed
        return min(max(pos, 0.0), self.duration_s)

    @property
    def at_end(self) -> bool:
        return self.position >= self.duration_s

    def _anchor(self, pos: float) -> None:
        self._started = True
        if pos >= self.duration_s - 1e-9:  # ten tenths add up to the end, not just short
            pos = self.duration_s
        self._anchor_pos = min(max(pos, 0.0), self.duration_s)
        self._anchor_wall = self._clock()

    def toggle_pause(self) -> None:
        if self.paused and self.at_end:
            self._anchor(0.0)  # play again from the start
        else:
            self._anchor(self.position)
        self.paused = not self.paused

    def set_speed(self, speed: float) -> None:
        self._anchor(self.position)
        self.speed = min(max(speed, SPEEDS[0]), SPEEDS[-1])

    def faster(self) -> None:
        self.set_speed(next((s for s in SPEEDS if s > self.speed), SPEEDS[-1]))

    def slower(self) -> None:
        self.set_speed(next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0]))

    def seek_to(self, pos: float) -> None:
        self._anchor(pos)

    def seek(self, fraction: float) -> None:
        """Move by ``fraction`` of the recording (negative: back)."""
        self._anchor(self.position + fraction * self.duration_s)

    # --- the Controller interface ----------------------------------------------------------

    def begin(self, plan: Plan) -> None:
        """A replay runs nothing: starting a plan plays the recording from the start."""
        self._anchor(0.0)
        self.paused = False

    def stop(self) -> None:
        if not self.paused:
            self.toggle_pause()

    def send(self, command: Control) -> None:
        pass

    def shutdown(self, timeout: float = STOP_TIMEOUT_S) -> None:
        pass

    def current(self, pos: float | None = None) -> int:
        pos = self.position if pos is None else pos
        for i in range(len(self.tracks) - 1, -1, -1):
            if pos >= self.offsets[i]:
                return i
        return 0

    def poll(self) -> Progress:
        n = len(self.tracks)
        if n == 0:
            return Progress(plan=self.plan, state="failed", error="no run in this recording")
        if not self._started:
            self._anchor(self._anchor_pos)
        pos = self.position
        end = pos >= self.duration_s
        index = self.current(pos)
        finals: list[RunSnapshot | None] = [None] * n
        summaries: list[dict[str, Any] | None] = [None] * n
        for i, track in enumerate(self.tracks):
            if i < index or (end and i == index):
                finals[i], summaries[i] = track.final()
        track = self.tracks[index]
        if not end:
            track.advance_to(track.started_ns + int((pos - self.offsets[index]) * 1e9))
        snap = finals[index] if end else track.snapshot()
        done = [dict(s) for s in summaries if s is not None]
        report.fill_speedups(done, cores=self.machine.cores_usable)
        it = iter(done)
        summaries = [next(it) if s is not None else None for s in summaries]
        error = None
        if end:
            error = next((s["error"] for s in done if s.get("error")), None)
        return Progress(
            plan=self.plan,
            specs=tuple(t.source.spec for t in self.tracks),
            index=index,
            snapshot=snap,
            finals=tuple(finals),
            summaries=tuple(summaries),
            state="done" if end else "running",
            error=error,
            generation=1,
        )

    # --- the banner ----------------------------------------------------------------------

    def banner_parts(self) -> tuple[str, str]:
        """(what: file and run, where: position, speed, paused) for the title bar."""
        pos = self.position
        state = "ended" if pos >= self.duration_s else "paused" if self.paused else "playing"
        what = f"REPLAY {self.name}"
        if len(self.tracks) > 1:
            i = self.current(pos)
            what += f" · run {i + 1}/{len(self.tracks)} ({self.plan.labels[i]})"
        return what, f"{pos:.2f}s / {self.duration_s:.2f}s · {self.speed:g}x · {state}"

    def banner(self) -> str:
        return " · ".join(self.banner_parts())


def machine_of(recording: Any) -> Machine:
    """The recorded machine, as far as the header tells."""
    head = recording.header or {}
    m = head.get("machine") or {}
    py = head.get("python") or {}
    cpus = sorted({c for model in recording.models for c in model.cores})
    pools = {model.spec.pool: None for model in recording.models}
    return Machine(
        cores_logical=int(m.get("cores_logical") or len(cpus) or 1),
        usable_cpus=tuple(cpus),
        quota=m.get("cgroup_cpu_limit"),
        cores_usable=int(m.get("cores_usable") or len(cpus) or 1),
        python=f"{py.get('implementation', '')} {py.get('version', '')}".strip(),
        gil_enabled=bool(py.get("gil_enabled", True)),
        pools=pools,
    )


def player_for(path: str | Path, recording: Any, **kw: Any) -> RecordingPlayer:
    return RecordingPlayer(recording, name=Path(path).name, **kw)
