"""Exports of a recording: the JSON ``gilviz run``/``compare --json`` printed (``gilviz
replay --json``), a Chrome/Perfetto trace (opens in ui.perfetto.dev) and a Markdown report.
All are rebuilt from the recording by replaying it through the model, so they show exactly
what the live session showed; a preset's claim is checked again on the recorded machine's
usable cores and load average, as it was checked live.

Trace layout: one process per run; per worker two threads: "worker N" with one slice per
stretch of samples in the same state, and "worker N tasks" with one slice per task (local pools: per
stretch of back-to-back tasks, as the runner sends them, with their count); counter
tracks "core N busy" and "GIL contention" per sample.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from gilviz.core import report
from gilviz.core.protocol import STATE_WORDS, Stretch, TaskEnd, python_label
from gilviz.core.recording.reader import Recording, RunRecord, read_recording
from gilviz.core.teaching import presets, reference
from gilviz.core.teaching.presets import ClaimResult, Preset


@dataclass(frozen=True)
class RecordedPlan:
    """The runs of one plan of a recording (a preset's pools, a compare, a talk step, one
    dashboard run): how they were shown (its ``plan`` line, {} in recordings without one),
    their JSON entries, the preset they ran (None: none, or not recorded) and its claim."""

    info: dict[str, Any]
    first: int
    runs: list[dict[str, Any]]
    preset: Preset | None = None
    claim: ClaimResult | None = None

    @property
    def as_preset(self) -> bool:
        """The preset ran as written (a changed setting makes it "your settings")."""
        return self.preset is not None and self.info.get("preset_name") == self.preset.name


def recorded_cores(header: dict[str, Any]) -> int | None:
    """The usable cores of the machine a recording was made on (None: unknown)."""
    cores = (header.get("machine") or {}).get("cores_usable")
    return cores if isinstance(cores, int) and cores > 0 else None


def recorded_plans(rec: Recording) -> list[RecordedPlan]:
    """The recording's runs, plan by plan; speedups against each plan's own serial run."""
    cores = recorded_cores(rec.header)
    out = []
    for plan, first, count in rec.plan_groups():
        info = rec.plans.get(plan, {}) if plan is not None else {}
        records = rec.runs[first : first + count]
        runs = [report.run_summary(r.model) for r in records]
        report.fill_speedups(runs, cores=cores)
        preset = claim = None
        if isinstance(info.get("preset"), dict):
            try:
                preset = presets.preset_from_json(info["preset"])
            except (KeyError, TypeError, ValueError):
                preset = None
        if preset is not None:
            load = (records[-1].end or {}).get("load1")
            try:
                claim = presets.check_claim(
                    preset, runs, cores, load if isinstance(load, int | float) else None
                )
            except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
                claim = ClaimResult(None, f"claim not checked: {type(exc).__name__}: {exc}")
        out.append(RecordedPlan(info, first, runs, preset, claim))
    return out


def document(rec: Recording) -> dict[str, Any]:
    """What ``gilviz run --json`` (or ``compare --json``) printed when the recording was
    made: its runs, and the preset and its claim when one preset ran. A session of several
    plans (the TUI, a talk) also lists them under ``plans``."""
    parts = recorded_plans(rec)
    runs = [r for part in parts for r in part.runs]
    doc = report.document(runs, rec.header.get("python"), rec.header.get("machine"))
    if len(parts) == 1 and parts[0].preset is not None:
        doc.update(_preset_keys(parts[0]))
    elif len(parts) > 1:
        doc["plans"] = [
            {
                "label": part.info.get("label"),
                "kind": part.info.get("kind"),
                "runs": list(range(part.first, part.first + len(part.runs))),
                **(_preset_keys(part) if part.preset is not None else {}),
            }
            for part in parts
        ]
    return doc


def _preset_keys(part: RecordedPlan) -> dict[str, Any]:
    p, claim = part.preset, part.claim
    assert p is not None and claim is not None
    return {
        "preset": {"name": p.name, "title": p.title, "source": p.source},
        "claim": {"ok": claim.ok, "text": claim.text},
    }


def _us(ns: int, origin: int) -> float:
    return (ns - origin) / 1000


def perfetto(rec: Recording | str) -> str:
    if isinstance(rec, str):
        rec = read_recording(rec)
    events: list[dict[str, Any]] = []
    origin = min((m.started_ns for m in rec.models), default=0)
    for index, run in enumerate(rec.runs):
        pid = index + 1
        spec = run.model.spec
        events.append(
            {"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
             "args": {"name": f"run {index}: {spec.workload} on {spec.pool} x{spec.workers}"}}
        )  # fmt: skip
        events.extend(_worker_tracks(run, pid, origin))
        events.extend(_task_slices(run, pid, origin))
        events.extend(_counters(run, pid, origin))
    return json.dumps({"traceEvents": events, "displayTimeUnit": "ms"}, separators=(",", ":"))


def _worker_tracks(run: RunRecord, pid: int, origin: int) -> list[dict[str, Any]]:
    # Re-fold the run with a tap that collects every sample's state.
    spans: dict[int, list[list[Any]]] = {}

    def tap(wid: int, t_ns: int, dt_ns: int, state: str) -> None:
        rows = spans.setdefault(wid, [])
        start = t_ns - dt_ns
        if rows and rows[-1][2] == state and abs(rows[-1][1] - start) < dt_ns:
            rows[-1][1] = t_ns  # same state continues: extend the slice
        else:
            rows.append([start, t_ns, state])

    replayed = run.refold(tap).workers
    out: list[dict[str, Any]] = []
    for wid, w in sorted(replayed.items()):
        tid = 2 * wid + 1
        out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                    "args": {"name": f"worker {wid} (pid {w.pid} tid {w.tid})"}})  # fmt: skip
        for start, end, state in spans.get(wid, []):
            out.append(
                {"ph": "X", "name": STATE_WORDS.get(state, state), "cat": "state", "pid": pid,
                 "tid": tid, "ts": _us(start, origin), "dur": (end - start) / 1000,
                 "args": {"state": state}}
            )  # fmt: skip
    return out


def _task_slices(run: RunRecord, pid: int, origin: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for wid in sorted(run.model.workers):
        tid = 2 * wid + 2
        out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                    "args": {"name": f"worker {wid} tasks"}})  # fmt: skip
        for kind, msg in run.log:
            if kind != "msg" or getattr(msg, "wid", None) != wid:
                continue
            if isinstance(msg, TaskEnd):
                t0, t1 = msg.t0_ns, msg.t1_ns
                name = f"task {msg.task}"
                args = {"tasks": 1, "cpu_ms": msg.cpu_ns / 1e6, "ok": msg.ok}
            elif isinstance(msg, Stretch):
                t0, t1 = msg.t0_ns, msg.t1_ns
                n = msg.n_ok + msg.n_failed
                name = f"task {msg.last_task}" if n == 1 else f"{n} tasks (last: {msg.last_task})"
                args = {"tasks": n, "ok": msg.n_ok, "failed": msg.n_failed}
            else:
                continue
            out.append(
                {"ph": "X", "name": name, "cat": "task", "pid": pid, "tid": tid,
                 "ts": _us(t0, origin), "dur": (t1 - t0) / 1000, "args": args}
            )  # fmt: skip
    return out


def _counters(run: RunRecord, pid: int, origin: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kind, payload in run.log:
        if kind != "tick":
            continue
        samples, core, now = payload
        if core is not None:
            for cpu, busy in core.busy.items():
                out.append({"ph": "C", "name": f"core {cpu} busy", "pid": pid,
                            "ts": _us(core.t_ns, origin), "args": {"busy": busy}})  # fmt: skip
        shares = [s.shares for s in samples if s.shares]
        if shares:
            gil = sum(s.get("gil_wait", 0.0) for s in shares) / len(shares)
            out.append({"ph": "C", "name": "GIL wait (share of sampled workers)", "pid": pid,
                        "ts": _us(now, origin), "args": {"gil_wait": gil}})  # fmt: skip
    return out


def markdown(rec: Recording | str) -> str:
    """A report of the recording: per plan, the preset with its narration, the runs' table
    and the claim checked on the recorded machine; then the threads-or-processes table
    with what the recording's presets measured (no other figures: not this machine's cache)."""
    if isinstance(rec, str):
        rec = read_recording(rec)
    h = rec.header
    py = h.get("python", {})
    machine = h.get("machine", {})
    created = h.get("created")
    when = (
        time.strftime("%Y-%m-%d %H:%M", time.localtime(created))
        if isinstance(created, int | float)
        else None
    )
    argv = (h.get("settings") or {}).get("argv")
    lines = [
        "# gilviz report",
        "",
        f"gilviz {h.get('gilviz')}, {py.get('implementation')} {py.get('version')} "
        f"(GIL {'on' if py.get('gil_enabled') else 'off'}), "
        f"{machine.get('cores_usable')} usable of {machine.get('cores_logical')} cores"
        + (f"; recorded {when}" if when else "")
        + (f" by `gilviz {' '.join(argv)}`" if isinstance(argv, list) and argv else "")
        + ".",
    ]
    parts = recorded_plans(rec)
    for n, part in enumerate(parts, 1):
        lines += ["", *_plan_markdown(part, n if len(parts) > 1 else None)]
    runs = [r for part in parts for r in part.runs]
    lines += ["", f"GIL method: {runs[0]['gil']['method'] if runs else 'n/a'}."]
    section = _reference_markdown(rec, parts, when)
    if section:
        lines += ["", "## Threads or processes", "", section]
    return "\n".join(lines) + "\n"


def _plan_markdown(part: RecordedPlan, number: int | None) -> list[str]:
    p = part.preset
    lines: list[str] = []
    if p is not None:
        lines += [f"## {f'{number}. ' if number else ''}{p.name}: {p.title}", ""]
        lines += [f"> {line}" for line in p.narration] + ([""] if p.narration else [])
        if not part.as_preset:
            lines += ["Run with settings changed from the preset's.", ""]
    elif number is not None:
        lines += [f"## {number}. {part.info.get('label') or 'runs'}", ""]
    lines += [
        "| workload | pool | workers | wall s | speedup | cpu/wall | GIL contention | "
        "latency p99 ms | error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in part.runs:
        lines.append(
            f"| {r['workload']} | {r.get('label') or r['pool']} | {r['pool_size']} | "
            f"{report.num(r['wall_s'], '{:.3f}')} | {report.num(r['speedup'], unit='x')} | "
            f"{report.num(r['parallelism'])} | {report.pct(r['gil']['contention'])} | "
            f"{report.num(r['latency_ms']['p99'])} | "
            f"{(r['error'] or '').replace('|', '/')} |"
        )
    verdict = report.verdict_line(part.runs)
    if verdict:
        lines += ["", verdict]
    for r in part.runs:
        if r["outcome"]:
            outcome = ", ".join(f"{k} {v}" for k, v in r["outcome"].items())
            lines += ["", f"{r.get('label') or r['pool']}: {outcome}"]
    if part.claim is not None:
        mark = {True: "✓", False: "✗", None: "?"}[part.claim.ok]
        lines += ["", f"Claim: {part.claim.text} {mark}"]
    return lines


def _reference_markdown(rec: Recording, parts: list[RecordedPlan], when: str | None) -> str:
    """The reference table filled from the presets this recording ran as written (the
    newest run of each); empty when it ran none."""
    ran: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        if part.as_preset:
            assert part.preset is not None
            ran[part.preset.name] = part.runs
    if not ran:
        return ""
    hello = next((m.hello for m in rec.models if m.hello), None)
    python = python_label(hello.python) if hello else None
    rows = reference.table(reference.document_of(ran, python, when))
    if not any(r["measured"] or r["measured_interpreters"] for r in rows):
        return ""  # its presets are no row's (a deck of one's own)
    note = (
        f"measured in this recording: the presets {', '.join(ran)}"
        + (f", recorded {when}" if when else "")
        + "; other rows' presets did not run in it"
    )
    return reference.markdown(
        rows,
        note=note,
        missing="not in this recording",
        measured_title="measured in this recording",
    )
