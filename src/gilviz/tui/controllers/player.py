"""``gilviz replay FILE.jsonl``: the controller that plays a recording back.

    virtual clock (pos = anchor + (clock() - anchor_wall) * speed, unless paused)
        └─> RecordingPlayer.poll() ─> per run: a fresh RunModel re-fed from its ``log``
            up to started_ns + pos ─> Progress (same interface as LiveController)

The runs of a recording play one after the other (the gaps between them are skipped), so
the recording lasts the sum of the runs' durations. They are grouped in scenes
(:class:`Scene`), the runs of one recorded plan as they were shown (dashboard, race or talk
step): the progress is that of the scene playing, and an export may hold each scene's end
for ``hold_s``. Seeking forward feeds more of the log; seeking back rebuilds the model from
the start (fine for bounded recordings). At the end, each model is finished exactly as
``read_recording`` finished it, so the figures are the recorded ones. The clock is
injectable (tests and exports advance it by hand). ``screens.replay.ReplayScreen`` shows a
replay; ``tui.export`` draws scenes on the screens that showed them. No Textual import.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gilviz.core import report
from gilviz.core.model import RunModel, RunSnapshot
from gilviz.core.protocol import STOP_TIMEOUT_S, Control
from gilviz.core.recording.reader import RunRecord
from gilviz.core.teaching.presets import Preset, preset_from_json
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


#: The screen that showed each kind of recorded plan (``gilviz run`` and ``compare`` had
#: none: their TUI counterparts, the dashboard and the race, show them).
SCREENS = {"run": "dashboard", "race": "race", "compare": "race", "talk": "talk"}


@dataclass(frozen=True)
class Scene:
    """The runs ``first``..``first + count - 1`` of a recording, one plan as it was shown:
    ``screen`` dashboard, race or talk, the plan the progress carries, the preset on screen
    (None if not recorded), whether its settings had been changed, a talk's step (i, n),
    the load average as its last run ended (None if not recorded)."""

    screen: str
    plan: Plan
    first: int
    count: int
    preset: Preset | None = None
    modified: bool = False
    step: tuple[int, int] | None = None
    load: float | None = None

    @property
    def last(self) -> int:
        return self.first + self.count - 1


def _scene(recording: Any, first: int, count: int, info: dict[str, Any] | None) -> Scene:
    specs = [r.model.spec for r in recording.runs[first : first + count]]
    last = recording.runs[first + count - 1]
    settings = (recording.header or {}).get("settings") or {}
    info = info or {}
    kind = info.get("kind") or settings.get("command")
    preset = None
    if isinstance(info.get("preset"), dict):
        try:
            preset = preset_from_json(info["preset"])
        except (KeyError, TypeError, ValueError):
            preset = None
    screen = SCREENS.get(kind, "dashboard")
    if kind == "run" and count > 1:
        screen = "race"  # `gilviz run --preset` runs each of the preset's pools
    if screen == "talk" and preset is None:
        screen = "dashboard"  # a talk step without its preset: its runs on the dashboard
    step = info.get("step")
    labels = info.get("labels")
    if not (isinstance(labels, list) and len(labels) == count):
        labels = [s.label or s.pool for s in specs]
    label = info.get("label") or f"{specs[0].workload} on {', '.join(s.pool for s in specs)}"
    plan = Plan(
        label=str(label),
        make_specs=lambda url: list(specs),
        preset_name=None,  # never written into the reference table
        kind="race" if screen == "race" else screen if screen == "talk" else "run",
        labels=tuple(str(x) for x in labels),
        preset=preset,
        step=(int(step[0]), int(step[1])) if isinstance(step, list) and len(step) == 2 else None,
    )
    return Scene(
        screen=screen,
        plan=plan,
        first=first,
        count=count,
        preset=preset,
        modified=preset is not None and info.get("preset_name") is None,
        step=plan.step,
        load=load if isinstance(load := (last.end or {}).get("load1"), int | float) else None,
    )


def scenes_of(recording: Any) -> list[Scene]:
    """The recording's runs grouped by the plan they were recorded in; recordings without
    ``plan`` lines make one scene, shown as their command showed it."""
    return [
        _scene(recording, first, count, recording.plans.get(plan) if plan is not None else None)
        for plan, first, count in recording.plan_groups()
    ]


class RecordingPlayer:
    """A controller (see ``controllers.base.Controller``) that plays a recording
    (``core.recording.reader.Recording``): by default as one scene of all its runs (``gilviz
    replay``), or as ``scenes`` each held ``hold_s`` at its end (exports)."""

    def __init__(
        self,
        recording: Any,
        *,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
        speed: float = 1.0,
        paused: bool = False,
        scenes: list[Scene] | None = None,
        hold_s: float = 0.0,
    ) -> None:
        self.recording = recording
        self.name = name
        self.machine = machine_of(recording)  # speedups are judged against its cores
        self._clock = clock
        self.tracks = [_Track(r) for r in recording.runs]
        specs = [t.source.spec for t in self.tracks]
        self.plan = Plan(
            label=f"replay: {name}",
            make_specs=lambda url: list(specs),
            preset_name=None,  # never written into the reference table
            kind="run",
            labels=tuple(s.label or s.pool for s in specs),
        )
        if scenes is None:
            scenes = [Scene("dashboard", self.plan, 0, len(self.tracks))] if self.tracks else []
        self.scenes = scenes
        self._scene_of = [0] * len(self.tracks)
        for k, scene in enumerate(scenes):
            for i in range(scene.first, scene.first + scene.count):
                self._scene_of[i] = k
        self.offsets: list[float] = []
        self.ends: list[float] = []  # where each run's end is reached
        total = 0.0
        for i, t in enumerate(self.tracks):
            self.offsets.append(total)
            total += t.duration_ns / 1e9
            self.ends.append(total)
            if i == scenes[self._scene_of[i]].last:
                total += hold_s
        self.duration_s = total
        self.speed = speed
        self.paused = paused
        self._anchor_pos = 0.0
        self._anchor_wall = clock()
        self._started = False  # the clock starts at the first poll (the app is up)

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
        """Pause, or play; at the end (paused there or not), play again from the start."""
        if self.at_end:
            self._anchor(0.0)
            self.paused = False
            return
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
            self._anchor(self.position)
            self.paused = True

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

    def scene(self, pos: float | None = None) -> int:
        """The index of the scene playing at ``pos`` (default: now)."""
        return self._scene_of[self.current(pos)] if self.tracks else 0

    def poll(self) -> Progress:
        if not self.tracks:
            return Progress(plan=self.plan, state="failed", error="no run in this recording")
        if not self._started:
            self._anchor(self._anchor_pos)
        pos = self.position
        index = self.current(pos)
        scene = self.scenes[self._scene_of[index]]
        ended = pos >= self.ends[index] or pos >= self.duration_s  # this run has played
        tracks = self.tracks[scene.first : scene.last + 1]
        at = index - scene.first
        finals: list[RunSnapshot | None] = [None] * len(tracks)
        summaries: list[dict[str, Any] | None] = [None] * len(tracks)
        for i, track in enumerate(tracks):
            if i < at or (ended and i == at):
                finals[i], summaries[i] = track.final()
        track = tracks[at]
        if not ended:
            track.advance_to(track.started_ns + int((pos - self.offsets[index]) * 1e9))
        snap = finals[at] if ended else track.snapshot()
        done = [dict(s) for s in summaries if s is not None]
        report.fill_speedups(done, cores=self.machine.cores_usable)
        it = iter(done)
        summaries = [next(it) if s is not None else None for s in summaries]
        end = ended and index == scene.last
        error = None
        if end:
            error = next((s["error"] for s in done if s.get("error")), None)
        return Progress(
            plan=scene.plan,
            specs=tuple(t.source.spec for t in tracks),
            index=at,
            snapshot=snap,
            finals=tuple(finals),
            summaries=tuple(summaries),
            state="done" if end else "running",
            error=error,
            generation=1 + self._scene_of[index],
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
