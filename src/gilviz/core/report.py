"""Turns runs into what gilviz prints: each run's JSON entry (from its model), the design's
JSON document, a short readable summary of one run, and the comparison table of several.

    RunModel ──run_summary()──> dict ──document()──> the --json object
                                     ──run_text() / compare_table()──> the terminal
"""

from __future__ import annotations

from typing import Any

import gilviz
from gilviz.core.measuring import machine
from gilviz.core.model import RunModel
from gilviz.core.protocol import STATES

HOLDER_METHOD = (
    "GIL holder read from each measured process's memory (each GIL's last_holder while locked)"
)
LATENCY_METHOD = "heartbeat: 1 ms sleeps, lateness of each wake-up"


def run_summary(model: RunModel) -> dict[str, Any]:
    """One run as the design's JSON ``runs[]`` entry (speedup filled in by fill_speedups)."""
    snap = model.snapshot()
    spec = model.spec
    return {
        "pool": snap.pool,
        "label": spec.label or snap.pool,
        "pool_size": snap.workers_requested,
        "workload": snap.workload,
        "tasks": snap.tasks_total,
        "tasks_done": snap.tasks_done,
        "size": snap.size,
        "start_method": spec.start_method,
        "chunksize": spec.chunksize,
        "switch_interval": spec.switch_interval,
        "wall_s": _round(snap.elapsed_s),
        "cpu_s": _round(snap.cpu_s),
        "speedup": 1.0 if snap.pool == "serial" and not snap.error else None,
        "parallelism": _round(snap.parallelism),
        "gil": {
            "contention": _round(snap.gil_contention),
            "method": snap.method,
            "samples": snap.gil_samples,
            "sample_hz": _round(snap.sample_hz),
            "holder_method": (
                f"{HOLDER_METHOD}, {snap.holder_reads} samples"
                if any(w.gil_held is not None for w in snap.workers)
                else None
            ),
            "note": snap.gil_note,
        },
        "latency_ms": {
            "p50": _round(snap.latency_p50_ms),
            "p99": _round(snap.latency_p99_ms),
            "method": LATENCY_METHOD if snap.latency_samples else None,
            "samples": snap.latency_samples,
        },
        "states": _round_dict(snap.states) if snap.states else dict.fromkeys(STATES),
        "workers": [
            {
                "id": w.wid,
                "pid": w.pid,
                "tid": w.tid,
                "tasks": w.tasks,
                "cpu_s": _round(w.cpu_s),
                "rss_bytes": w.rss_bytes,
                "states": _round_dict(w.states) if w.states else dict.fromkeys(STATES),
                "gil_held": _round(w.gil_held),
                "blocked_holding_gil": _round(w.blocked_holding_gil),
            }
            for w in snap.workers
        ],
        "pickle": model.pickle,
        "startup": _round_startup(model.startup),
        "outcome": snap.outcome,
        "error": snap.error,
    }


def _round_startup(st: dict[str, Any] | None) -> dict[str, Any] | None:
    if st is None:
        return None
    return {k: (_round(v) if isinstance(v, float) else v) for k, v in st.items()}


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def _round_dict(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in d.items()}


def document(runs: list[dict[str, Any]], python: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one JSON object ``--json`` prints."""
    return {
        "gilviz": gilviz.__version__,
        "python": python or machine.python_info(),
        "machine": machine.machine_info(),
        "runs": runs,
    }


def fill_speedups(runs: list[dict[str, Any]]) -> None:
    """Speedup of each run against the serial run of the same workload, when there is one."""
    base = next((r for r in runs if r["pool"] == "serial" and not r["error"]), None)
    if base is None or not base["wall_s"]:
        return
    for r in runs:
        if not r["error"] and r["wall_s"]:
            r["speedup"] = round(base["wall_s"] / r["wall_s"], 3)


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def num(x: float | None, fmt: str = "{:.2f}", unit: str = "") -> str:
    return "n/a" if x is None else fmt.format(x) + unit


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:.0f} MiB"


def run_text(run: dict[str, Any]) -> str:
    """A few lines on one run."""
    gil = run["gil"]
    lat = run["latency_ms"]
    states = run["states"]
    lines = [
        f"{run['workload']} on a {run['pool']} pool of {run['pool_size']}, "
        f"{run['tasks_done']}/{run['tasks']} tasks, size {run['size']:,}",
        f"  wall {run['wall_s']:.3f} s   cpu {run['cpu_s']:.3f} s   "
        f"parallelism {num(run['parallelism'])} (cpu/wall)   "
        f"speedup {num(run['speedup'], '{:.2f}', 'x')}",
        f"  GIL contention {pct(gil['contention'])} "
        f"({gil['method']}, {gil['samples']:,} samples)   "
        f"heartbeat latency p50 {num(lat['p50'], '{:.2f}', ' ms')} "
        f"p99 {num(lat['p99'], '{:.2f}', ' ms')}",
        "  states: " + "  ".join(f"{k} {pct(v)}" for k, v in states.items()),
    ]
    for w in run["workers"]:
        lines.append(
            f"    worker {w['id']}: pid {w['pid']} tid {w['tid']}  {w['tasks']} tasks  "
            f"cpu {w['cpu_s']:.3f} s  rss {_mib(w['rss_bytes'])}"
        )
    if run.get("pickle"):
        p = run["pickle"]
        lines.append(
            f"  pickling: arguments {p['args_bytes'] / 2**20:.1f} MiB in {p['args_s']:.3f} s, "
            f"results {p['results_bytes'] / 2**20:.1f} MiB in {p['results_s']:.3f} s"
        )
    if run.get("startup"):
        st = run["startup"]
        how = f" ({st['start_method']})" if st.get("start_method") else ""
        lines.append(
            f"  start-up: pool start {st['pool_start_s']:.3f} s{how}, first task "
            f"{st['first_task_s']:.3f} s, then {num(st['steady_task_s'], '{:.3f}', ' s')} a task"
            " (median)"
        )
    if run.get("outcome"):
        lines.append("  outcome: " + ", ".join(f"{k} {v}" for k, v in run["outcome"].items()))
    if run["error"]:
        lines.append(f"  error: {run['error']}")
    return "\n".join(lines)


def compare_table(runs: list[dict[str, Any]]) -> str:
    """One row per run, then a one-line verdict."""
    wide = max([14] + [len(_name(r)) + 2 for r in runs])
    header = f"{'pool':<{wide}}{'workers':>8}{'wall s':>9}{'speedup':>9}{'cpu/wall':>10}{'GIL wait':>10}  per-worker cpu s"
    rows = [header, "-" * len(header)]
    for r in runs:
        per_worker = " ".join(f"{w['cpu_s']:.2f}" for w in r["workers"]) or "-"
        if r["error"]:
            rows.append(f"{_name(r):<{wide}}{r['pool_size']:>8}  error: {r['error']}")
            continue
        rows.append(
            f"{_name(r):<{wide}}{r['pool_size']:>8}{r['wall_s']:>9.3f}"
            f"{num(r['speedup'], '{:.2f}x'):>9}{num(r['parallelism']):>10}"
            f"{pct(r['gil']['contention']):>10}  {per_worker}"
        )
    verdict = verdict_line(runs)
    if verdict:
        rows += ["", verdict]
    return "\n".join(rows)


def startup_line(runs: list[dict[str, Any]]) -> str | None:
    """The start-up of each process and interpreter pool, in one line (None: no such run)."""
    parts = []
    for r in runs:
        st = r.get("startup")
        if st:
            how = f", {st['start_method']}" if st.get("start_method") else ""
            parts.append(f"{_name(r)} {st['pool_start_s']:.3f} s{how}")
    if not parts:
        return None
    return "pool start (asked for -> first task running): " + "; ".join(parts)


def verdict_line(runs: list[dict[str, Any]]) -> str | None:
    """Which pool won, and the measured reason, in one line."""
    ok = [r for r in runs if not r["error"] and r["wall_s"]]
    if len(ok) < 2:
        return None
    best = min(ok, key=lambda r: r["wall_s"])
    others = [r for r in ok if r is not best]
    runner_up = min(others, key=lambda r: r["wall_s"])
    ratio = runner_up["wall_s"] / best["wall_s"]
    why = []
    thread = next((r for r in ok if r["pool"] == "thread"), None)
    if thread and thread["gil"]["contention"] is not None:
        why.append(f"GIL contention {pct(thread['gil']['contention'])} on threads")
    if thread and thread["states"].get("io_wait"):
        why.append(f"threads waiting for I/O {pct(thread['states']['io_wait'])}")
    reason = f": {', '.join(why)}" if why else ""
    return f"{_name(best)} fastest, {ratio:.2f}x faster than {_name(runner_up)}{reason}"


def _name(run: dict[str, Any]) -> str:
    return run.get("label") or run["pool"]
