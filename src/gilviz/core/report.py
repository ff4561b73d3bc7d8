"""Turns runs into what gilviz prints: each run's JSON entry (from its model), the design's
JSON document, a short readable summary of one run, and the comparison table of several.

    RunModel ──run_summary()──> dict ──document()──> the --json object
                                     ──run_text() / compare_table()──> the terminal
"""

from __future__ import annotations

from typing import Any

import gilviz
from gilviz.core.measuring import machine
from gilviz.core.model import RunModel, RunSnapshot, WorkerView
from gilviz.core.protocol import STATE_WORDS, STATES, WATCH_POOL, python_short

HOLDER_METHOD = (
    "GIL holder read from each measured process's memory (who last took each GIL, while it is held)"
)
LATENCY_METHOD = "heartbeat: 1 ms sleeps, lateness of each wake-up"
#: Why a watched program has no latency figure.
NO_LATENCY = "n/a: no heartbeat thread runs in a program gilviz did not start as its runner"
#: How a watched program's states are split (added to its method text).
NO_TASKS = (
    "no task events: every thread counts as busy while it exists, so waits are I/O or lock "
    "wait, never idle"
)


def run_summary(model: RunModel) -> dict[str, Any]:
    """One run as the design's JSON ``runs[]`` entry (speedup filled in by fill_speedups)."""
    snap = model.snapshot()
    spec = model.spec
    out = {
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
                "name": w.name,
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
        "in_flight": _in_flight(model.in_flight),
        "startup": _round_startup(model.startup),
        "outcome": snap.outcome,
        "error": snap.error,
        # The interpreter this run's figures came from, as its runner said (None for a
        # program gilviz did not start).
        "python": snap.python,
    }
    out["output"] = list(model.output)
    out["too_short"] = too_short(out["wall_s"], snap.gil_samples, snap.method != "none")
    if spec.args is not None:
        out["args"] = spec.args
    if snap.pool == WATCH_POOL:
        out["latency_ms"]["why"] = NO_LATENCY
        out["processes"] = process_table(snap)
    return out


#: Below either, a run is too short to measure: no verdict is given on it.
MIN_WALL_S = 0.2
MIN_SAMPLES = 20
#: Runs whose wall times differ by less than this are "about the same": one run each on a
#: shared machine varies by several percent from one run to the next.
NOISE = 0.10
TOO_SHORT_HINT = "raise --size, --tasks or --args"


def too_short(wall_s: float | None, samples: int, sampled: bool) -> dict[str, Any] | None:
    """Why a run is too short to measure (with the figures and the floors), or None."""
    short_wall = wall_s is None or wall_s < MIN_WALL_S
    short_samples = sampled and samples < MIN_SAMPLES
    if not (short_wall or short_samples):
        return None
    return {
        "wall_s": wall_s,
        "samples": samples if sampled else None,
        "min_wall_s": MIN_WALL_S,
        "min_samples": MIN_SAMPLES if sampled else None,
        "hint": TOO_SHORT_HINT,
    }


def process_table(snap: RunSnapshot) -> list[dict[str, Any]]:
    """Per process of a watched program: its threads and its own GIL contention (the share
    of its threads' busy time spent waiting for its GIL, weighted by time sampled)."""
    by_pid: dict[int, list[WorkerView]] = {pid: [] for pid, _ in snap.processes}
    for w in snap.workers:
        by_pid.setdefault(w.pid, []).append(w)
    commands = dict(snap.processes)
    rows = []
    for pid, workers in by_pid.items():
        gil = busy = 0.0
        for w in workers:
            if w.states:
                gil += w.states["gil_wait"] * w.sampled_s
                busy += sum(w.states[k] for k in STATES if k != "idle") * w.sampled_s
        rows.append(
            {
                "pid": pid,
                "command": commands.get(pid),
                "threads": len(workers),
                "gil_contention": _round(gil / busy) if busy > 0 else None,
            }
        )
    return rows


IN_FLIGHT_METHOD = (
    "counted by the runner: submissions not yet finished (bound: its window; peak: the most"
    " at once)"
)


def _in_flight(counts: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if counts is None else {**counts, "method": IN_FLIGHT_METHOD}


def _round_startup(st: dict[str, Any] | None) -> dict[str, Any] | None:
    if st is None:
        return None
    return {k: (_round(v) if isinstance(v, float) else v) for k, v in st.items()}


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def _round_dict(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in d.items()}


def document(
    runs: list[dict[str, Any]],
    python: dict[str, Any] | None = None,
    machine_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The one JSON object ``--json`` prints (``python`` and ``machine_info``: a recorded
    session's, else this one's)."""
    return {
        "gilviz": gilviz.__version__,
        "python": python or machine.python_info(),
        "machine": machine_info or machine.machine_info(),
        "runs": runs,
    }


def fill_speedups(runs: list[dict[str, Any]], cores: int | None = None) -> None:
    """Speedup of each run against the serial run of the same workload, when there is one.

    A pool cannot beat the serial run by more than its workers allow, nor, for the part of
    the serial run that computed (its cpu/wall), by more than the usable cores allow: a
    speedup above ``min(workers, cores / cpu share)`` (with NOISE to spare) means the serial
    run was slowed by other work, which ``speedup_note`` says."""
    base = next((r for r in runs if r["pool"] == "serial" and not r["error"]), None)
    if base is None or not base["wall_s"]:
        return
    cores = machine.cores_usable() if cores is None else cores
    cpu_share = base.get("parallelism") or 0.0
    for r in runs:
        if not r["error"] and r["wall_s"]:
            r["speedup"] = round(base["wall_s"] / r["wall_s"], 3)
            bound = min(r["pool_size"], cores / cpu_share if cpu_share > 0 else float("inf"))
            if r["speedup"] > bound * (1 + NOISE):
                r["speedup_note"] = (
                    f"{r['speedup']:.2f}x is more than {r['pool_size']} workers on {cores} "
                    f"usable cores allow (the serial run computed {cpu_share:.0%} of its time): "
                    "it was slowed by other work; rerun"
                )


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def num(x: float | None, fmt: str = "{:.2f}", unit: str = "") -> str:
    return "n/a" if x is None else fmt.format(x) + unit


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:.0f} MiB"


def outcome_text(outcome: dict[str, Any] | None, pool: str | None = None) -> str:
    """What a workload's outcome found, in words (the shared counter's lost updates, or
    its separate copies on processes and interpreters); "" when there is none."""
    if not outcome:
        return ""
    if "expected" in outcome and "lost_updates" in outcome:
        expected = outcome["expected"]
        if outcome["lost_updates"] is not None:  # one counter, shared by every worker
            return (
                f"{outcome['lost_updates']:,} of {expected:,} updates lost: the shared "
                f"counter ended at {outcome.get('final', 0):,}"
            )
        copies = outcome.get("per_process") or []
        one = {"process": "one per worker process", "interpreter": "one per interpreter"}
        each = (
            f"{copies[0]:,} each"
            if copies and len(set(copies)) == 1
            else (f"{min(copies):,} to {max(copies):,}" if copies else "no count")
        )
        return (
            f"nothing lost, nothing shared: {len(copies)} separate "
            f"{'copy' if len(copies) == 1 else 'copies'} of the counter "
            f"({one.get(pool or '', 'one per process or interpreter')}), {each}, "
            f"{sum(copies):,} of {expected:,} in all; the runner's own copy stayed at "
            f"{outcome.get('final', 0):,}"
        )
    if outcome.get("error"):
        return f"outcome not computed: {outcome['error']}"
    if "objects" in outcome:  # one object handed to every task (unshareable)
        n = outcome["objects"]
        return (
            f"{n} shared object{'' if n == 1 else 's'} for every task: "
            f"{outcome.get('total', 0):,} of {outcome['expected']:,} locked increments counted"
        )
    return ", ".join(
        f"{k.replace('_', ' ')} {f'{v:,}' if isinstance(v, int) else v}"
        for k, v in outcome.items()
        if v is not None
    )


def worker_lines(workers: list[dict[str, Any]], pool_size: int, limit: int = 16) -> list[str]:
    """One line per worker; beyond ``limit`` workers (a screenful), one summary line. A
    worker is listed once it runs a task: how many did, when not the whole pool, is said."""
    ran = (
        f"{len(workers)} of the pool's {pool_size} workers ran a task"
        if 0 < len(workers) < pool_size
        else None
    )
    if len(workers) <= limit:
        lines = [
            f"    worker {w['id']}: pid {w['pid']} tid {w['tid']}  {w['tasks']} tasks  "
            f"cpu {w['cpu_s']:.3f} s  rss {_mib(w['rss_bytes'])}"
            for w in workers
        ]
        return lines + ([f"    ({ran})"] if ran else [])
    tasks = sorted(w["tasks"] for w in workers)
    cpu = sorted(w["cpu_s"] or 0.0 for w in workers)
    pids = {w["pid"] for w in workers}
    where = f"{len(pids)} {'process' if len(pids) == 1 else 'processes'}"
    return [
        f"    {ran or f'{len(workers)} workers'}, in {where} (each one in --json): "
        f"tasks {_spread(tasks, '{:d}')} a worker, cpu {_spread(cpu, '{:.3f} s')} a worker"
    ]


def _spread(values: list, fmt: str) -> str:
    """ "min–max (median m)" of sorted values; one value when they are all the same."""
    lo, mid, hi = values[0], values[len(values) // 2], values[-1]
    if lo == hi:
        return fmt.format(lo)
    return f"{fmt.format(lo)}–{fmt.format(hi)} (median {fmt.format(mid)})"


def run_text(run: dict[str, Any]) -> str:
    """A few lines on one run."""
    gil = run["gil"]
    lat = run["latency_ms"]
    states = run["states"]
    lines = [
        f"{run['workload']} on a {run['pool']} pool of {run['pool_size']}, "
        f"{run['tasks_done']}/{run['tasks']} tasks, "
        + (f"args {run['args']}" if run.get("args") is not None else f"size {run['size']:,}"),
        f"  wall {run['wall_s']:.3f} s   cpu {run['cpu_s']:.3f} s   "
        f"parallelism {num(run['parallelism'])} (cpu/wall)   "
        f"speedup {num(run['speedup'], '{:.2f}', 'x')}",
        f"  GIL contention {pct(gil['contention'])} "
        f"({gil['method']}, {gil['samples']:,} samples)   "
        f"heartbeat latency p50 {num(lat['p50'], '{:.2f}', ' ms')} "
        f"p99 {num(lat['p99'], '{:.2f}', ' ms')}",
        "  states: " + "  ".join(f"{STATE_WORDS.get(k, k)} {pct(v)}" for k, v in states.items()),
    ]
    lines += worker_lines(run["workers"], run["pool_size"])
    if run.get("pickle"):
        p = run["pickle"]
        lines.append(
            f"  pickling: arguments {p['args_bytes'] / 2**20:.1f} MiB in {p['args_s']:.3f} s, "
            f"results {p['results_bytes'] / 2**20:.1f} MiB in {p['results_s']:.3f} s"
        )
    if run.get("startup"):
        lines.append(f"  start-up: {startup_text(run['startup'])}")
    if run.get("outcome"):
        lines.append(f"  outcome: {outcome_text(run['outcome'], run['pool'])}")
    short = run.get("too_short")
    if short:
        lines.append(
            f"  too short to measure: {run['wall_s']:.3f} s"
            + (f", {short['samples']} samples" if short["samples"] is not None else "")
            + f" (floor {MIN_WALL_S:g} s, {MIN_SAMPLES} samples): {TOO_SHORT_HINT}"
        )
    if run.get("output"):
        lines.append("  it printed (last lines):")
        lines += [f"    | {line}" for line in run["output"]]
    if run["error"]:
        lines.append(f"  error: {run['error']}")
    return "\n".join(lines)


def python_tag(python: dict[str, Any] | None) -> str:
    """An interpreter in a table cell: its version, "t" added for a free-threaded build
    (as CPython names them: 3.14t); "?" unknown."""
    if not python:
        return "?"
    free = "free-threaded" in (python.get("build") or "") or python.get("gil_enabled") is False
    return f"{python.get('version', '?')}{'t' if free else ''}"


def compare_table(
    runs: list[dict[str, Any]], groups: list[tuple[str, list[dict[str, Any]]]] | None = None
) -> str:
    """One row per run, then a one-line verdict. ``groups``: the same runs split by the
    interpreter they ran on, each with its name (a race on several Pythons): a python
    column, and a verdict for each, since speedups are against each one's serial run."""
    several = groups is not None and len(groups) > 1
    where = {id(r): name for name, rs in groups or () for r in rs}
    py_w = max([8] + [len(n) + 2 for n in where.values()]) if several else 0
    wide = max([14] + [len(_name(r)) + 2 for r in runs])
    # Pickling gets a column when it cost a process or interpreter pool measurable time.
    pickling = any(_pickle_s(r) >= PICKLE_SHOWN_S for r in runs)
    header = (
        f"{'python' if several else '':<{py_w}}"
        f"{'pool':<{wide}}{'workers':>8}{'wall s':>9}{'speedup':>9}{'cpu/wall':>10}"
        f"{'GIL wait':>10}{'pickle s' if pickling else '':>{10 if pickling else 0}}"
        "  per-worker cpu s"
    )
    rows = [header, "-" * len(header)]
    for r in runs:
        lead = f"{where.get(id(r), '?') if several else '':<{py_w}}{_name(r):<{wide}}"
        per_worker = _per_worker(r)
        if r["error"]:
            rows.append(f"{lead}{r['pool_size']:>8}  error: {r['error']}")
            continue
        if r.get("too_short"):
            per_worker = f"too short to measure ({TOO_SHORT_HINT})"
        rows.append(
            f"{lead}{r['pool_size']:>8}{r['wall_s']:>9.3f}"
            f"{num(r['speedup'], '{:.2f}x'):>9}{num(r['parallelism']):>10}"
            f"{pct(r['gil']['contention']):>10}"
            + (f"{_pickle_text(r):>10}" if pickling else "")
            + f"  {per_worker}"
        )
    verdicts = (
        [(f"{name}: " if several else "", verdict_line(rs)) for name, rs in groups]
        if groups
        else [("", verdict_line(runs))]
    )
    verdicts = [lead + v for lead, v in verdicts if v]
    if verdicts:
        rows += ["", *verdicts]
    return "\n".join(rows)


#: Beyond this many workers, the per-worker column gives their spread, not every figure.
PER_WORKER_SHOWN = 8


def _per_worker(run: dict[str, Any]) -> str:
    """Each worker's cpu seconds (their spread, when many), and how many of the pool's
    workers ran a task when not all did: a worker is listed once it runs one (a thread pool
    starts a thread only when no idle one can take the task)."""
    workers = run["workers"]
    if not workers:
        return "-"
    cpu = [w["cpu_s"] or 0.0 for w in workers]
    if len(cpu) <= PER_WORKER_SHOWN:
        text = " ".join(f"{c:.2f}" for c in cpu)
    else:
        text = f"{_spread(sorted(cpu), '{:.2f}')} over {len(cpu)} workers"
    if run["pool"] != WATCH_POOL and len(workers) < run["pool_size"]:
        text += f" ({len(workers)} of {run['pool_size']} ran a task)"
    return text


def startup_text(st: dict[str, Any]) -> str:
    """A process or interpreter pool's start-up apart from its work (End.startup): from
    asking for the pool to its first task running, that first task, then the steady state."""
    how = f" ({st['start_method']})" if st.get("start_method") else ""
    return (
        f"pool start {num(st.get('pool_start_s'), '{:.3f}', ' s')}{how}, first task "
        f"{num(st.get('first_task_s'), '{:.3f}', ' s')}, then "
        f"{num(st.get('steady_task_s'), '{:.3f}', ' s')} a task (median)"
    )


def startup_lines(runs: list[dict[str, Any]]) -> list[str]:
    """One line per process or interpreter pool run: its start-up (none for other pools)."""
    return [f"{_name(r)} start-up: {startup_text(r['startup'])}" for r in runs if r.get("startup")]


def snapshot_startup(snap: RunSnapshot | None) -> str | None:
    """The start-up line of a run on screen (a process or interpreter pool that ended)."""
    if snap is None or not snap.startup:
        return None
    return f"{snap.pool} start-up: {startup_text(snap.startup)}"


def snapshot_python(snap: RunSnapshot | None) -> str | None:
    """The interpreter a run on screen runs on, as its runner said; None until it has."""
    return python_short(snap.python) if snap is not None and snap.python else None


#: Pickling below this (arguments and results of a whole run) is not worth a column.
PICKLE_SHOWN_S = 0.001


def _pickle_s(run: dict[str, Any]) -> float:
    p = run.get("pickle")
    return (p["args_s"] + p["results_s"]) if p else 0.0


def _pickle_text(run: dict[str, Any]) -> str:
    return f"{_pickle_s(run):.3f}" if run.get("pickle") else "-"


def verdict_line(runs: list[dict[str, Any]]) -> str | None:
    """Which pool won, and the measured reason, in one line; or why there is no verdict."""
    ok = [r for r in runs if not r["error"] and r["wall_s"]]
    if len(ok) < 2:
        return None
    short = [r for r in ok if r.get("too_short")]
    if short:
        r = short[0]
        return (
            f"no verdict: {_name(r)} ran {r['wall_s']:.3f} s, too short to measure "
            f"(floor {MIN_WALL_S:g} s and {MIN_SAMPLES} samples); {TOO_SHORT_HINT}"
        )
    noted = next((r for r in ok if r.get("speedup_note")), None)
    if noted is not None:
        return f"no verdict: {_name(noted)}'s {noted['speedup_note']}"
    best = min(ok, key=lambda r: r["wall_s"])
    others = [r for r in ok if r is not best]
    runner_up = min(others, key=lambda r: r["wall_s"])
    ratio = runner_up["wall_s"] / best["wall_s"]
    if ratio < 1 + NOISE:
        return (
            f"{_name(best)} and {_name(runner_up)} about the same ({ratio:.2f}x: within "
            f"{NOISE:.0%}, the run-to-run noise of one run each)"
        )
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
