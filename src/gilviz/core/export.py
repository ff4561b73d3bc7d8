"""Exports of a recording: a Chrome/Perfetto trace (opens in ui.perfetto.dev) and a
Markdown report. Both are rebuilt from the recording by replaying it through the model, so
they show exactly what the live session showed.

Trace layout: one process per run; per worker two threads: "worker N" with one slice per
stretch of samples in the same state, and "worker N tasks" with one slice per task (local pools: per
stretch of back-to-back tasks, as the runner sends them, with their count); counter
tracks "core N busy" and "GIL contention" per sample.
"""

from __future__ import annotations

import json
from typing import Any

from gilviz.core import reference, report
from gilviz.core.record import Recording, read_recording


def _us(ns: int, origin: int) -> float:
    return (ns - origin) / 1000


def perfetto(rec: Recording | str) -> str:
    if isinstance(rec, str):
        rec = read_recording(rec)
    events: list[dict[str, Any]] = []
    origin = min((m.started_ns for m in rec.models), default=0)
    for index, model in enumerate(rec.models):
        pid = index + 1
        spec = model.spec
        events.append(
            {"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
             "args": {"name": f"run {index}: {spec.workload} on {spec.pool} x{spec.workers}"}}
        )  # fmt: skip
        events.extend(_worker_tracks(model, pid, origin))
        events.extend(_task_slices(model, pid, origin))
        events.extend(_counters(model, pid, origin))
    return json.dumps({"traceEvents": events, "displayTimeUnit": "ms"}, separators=(",", ":"))


def _worker_tracks(model: Any, pid: int, origin: int) -> list[dict[str, Any]]:
    # Re-fold the run with a tap that collects every sample's state.
    spans: dict[int, list[list[Any]]] = {}

    def tap(wid: int, t_ns: int, dt_ns: int, state: str) -> None:
        rows = spans.setdefault(wid, [])
        start = t_ns - dt_ns
        if rows and rows[-1][2] == state and abs(rows[-1][1] - start) < dt_ns:
            rows[-1][1] = t_ns  # same state continues: extend the slice
        else:
            rows.append([start, t_ns, state])

    replayed = _refold(model, tap)
    out: list[dict[str, Any]] = []
    for wid, w in sorted(replayed.items()):
        tid = 2 * wid + 1
        out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                    "args": {"name": f"worker {wid} (pid {w.pid} tid {w.tid})"}})  # fmt: skip
        for start, end, state in spans.get(wid, []):
            out.append(
                {"ph": "X", "name": state, "cat": "state", "pid": pid, "tid": tid,
                 "ts": _us(start, origin), "dur": (end - start) / 1000}
            )  # fmt: skip
    return out


def _refold(model: Any, tap) -> dict[int, Any]:
    """The worker table of a fresh fold of the same recording, with ``tap`` attached."""
    from gilviz.core.model import RunModel

    fresh = RunModel(model.spec, model.method, sorted(model.cores), started_ns=model.started_ns)
    fresh.fold_tap = tap
    for kind, payload in model.replay_log:
        if kind == "msg":
            fresh.on_message(payload)
        else:
            samples, core, now = payload
            fresh.on_tick(samples, core, now=now)
    fresh.finish(model.status, now=model.ended_ns)
    return fresh.workers


def _task_slices(model: Any, pid: int, origin: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for wid in sorted(model.workers):
        tid = 2 * wid + 2
        out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                    "args": {"name": f"worker {wid} tasks"}})  # fmt: skip
        for kind, payload in model.replay_log:
            if kind != "msg" or payload[1:2] != [wid]:
                continue
            if payload[0] == "e":
                _, _, task, t0, t1, cpu, ok = payload
                name, args = f"task {task}", {"tasks": 1, "cpu_ms": cpu / 1e6, "ok": ok}
            elif payload[0] == "t":
                _, _, last, t0, t1, n_ok, n_failed = payload
                n = n_ok + n_failed
                name = f"task {last}" if n == 1 else f"{n} tasks (last: {last})"
                args = {"tasks": n, "ok": n_ok, "failed": n_failed}
            else:
                continue
            out.append(
                {"ph": "X", "name": name, "cat": "task", "pid": pid, "tid": tid,
                 "ts": _us(t0, origin), "dur": (t1 - t0) / 1000, "args": args}
            )  # fmt: skip
    return out


def _counters(model: Any, pid: int, origin: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kind, payload in model.replay_log:
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
    if isinstance(rec, str):
        rec = read_recording(rec)
    runs = [m.summary() for m in rec.models]
    report.fill_speedups(runs)
    h = rec.header
    py = h.get("python", {})
    machine = h.get("machine", {})
    lines = [
        "# gilviz report",
        "",
        f"gilviz {h.get('gilviz')}, {py.get('implementation')} {py.get('version')} "
        f"(GIL {'on' if py.get('gil_enabled') else 'off'}), "
        f"{machine.get('cores_usable')} usable of {machine.get('cores_logical')} cores.",
        "",
        "| workload | pool | workers | wall s | speedup | cpu/wall | GIL contention | "
        "latency p99 ms | error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        lines.append(
            f"| {r['workload']} | {r['pool']} | {r['pool_size']} | "
            f"{report.num(r['wall_s'], '{:.3f}')} | {report.num(r['speedup'], unit='x')} | "
            f"{report.num(r['parallelism'])} | {report.pct(r['gil']['contention'])} | "
            f"{report.num(r['latency_ms']['p99'])} | "
            f"{r['error'] or ''} |"
        )
    verdict = report.verdict_line(runs)
    if verdict:
        lines += ["", verdict]
    lines += ["", f"GIL method: {runs[0]['gil']['method'] if runs else 'n/a'}."]
    lines += ["", "## Threads or processes", "", reference.markdown(reference.table())]
    return "\n".join(lines) + "\n"
