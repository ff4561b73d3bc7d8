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

from gilviz.core import report
from gilviz.core.protocol import STATE_WORDS, Stretch, TaskEnd
from gilviz.core.recording.reader import Recording, RunRecord, read_recording
from gilviz.core.teaching import reference


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
    if isinstance(rec, str):
        rec = read_recording(rec)
    runs = [report.run_summary(m) for m in rec.models]
    cores = (rec.header.get("machine") or {}).get("cores_usable")
    report.fill_speedups(runs, cores=cores if isinstance(cores, int) and cores > 0 else None)
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
