"""The tradeoff table of threads versus processes (and, from CPython 3.14, interpreter
pools), with what was measured on this machine.

Five rows (GIL, memory, overhead, best for, crash isolation), each tied to the presets that
demonstrate it. The interpreters column is filled from interpreter-pool runs, which need a
3.14+ Python (``gilviz run --preset crunch-interpreters --python python3.14``); until one
has run it says so. Every figure names the interpreter it came from. The "measured here" column is read from the latest results of those presets
on this machine, cached in ``~/.cache/gilviz/reference.json`` (``$XDG_CACHE_HOME`` honoured)
each time gilviz finishes a preset's runs; a row none of whose presets has run yet says "not
measured yet". ``gilviz reference`` prints the table (text, ``--markdown`` or ``--json``)
from that cache: it runs nothing itself, and says so.

Plain Python: no Textual, no Rich (gilviz.core must import neither).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gilviz.core.protocol import POOL_NAMES, python_label

NOT_MEASURED = "not measured yet"
NEEDS_314 = "not measured: needs Python 3.14+"


@dataclass(frozen=True)
class Row:
    key: str
    dimension: str
    threading: str
    multiprocessing: str
    presets: tuple[str, ...]  # the presets that show this row, the first is the one to open
    interpreters: str = ""  # interpreter pools (3.14+), in a few words


ROWS: tuple[Row, ...] = (
    Row(
        "gil",
        "GIL",
        "One lock for the whole interpreter: only one thread runs Python code at a time.",
        "Every process has its own interpreter and GIL: Python code runs on all cores at once.",
        ("crunch-threads", "crunch-processes", "crunch-serial", "crunch-interpreters"),
        "One GIL per interpreter: workers run Python on all cores at once, in one process.",
    ),
    Row(
        "memory",
        "Memory",
        "One address space: every thread sees the same objects, so changing them needs a lock.",
        "Each process owns its memory; data travels between them pickled, as copies.",
        (
            "shared-counter",
            "pickle-heavy",
            "counter-interpreters",
            "pickle-interpreters",
            "unshareable-interpreters",
        ),
        "One address space, no shared objects: each has its own modules; data goes pickled.",
    ),
    Row(
        "overhead",
        "Overhead",
        "Small: OS threads start fast and a task is handed over by reference.",
        "Larger: processes take time to start, and every argument and result is pickled.",
        ("tiny-tasks", "pickle-heavy", "pickle-interpreters"),
        "In between: an interpreter starts faster than a process, but arguments are pickled.",
    ),
    Row(
        "best-for",
        "Best for",
        "Waiting: network, disk, sleeps, and C code that releases the GIL.",
        "Computing in Python: number crunching, parsing, image work done in Python.",
        ("fetch-threads", "fetch-processes", "sleep-io", "c-release", "crunch-interpreters"),
        "Computing in Python in one process, with modules that support subinterpreters.",
    ),
    Row(
        "crash",
        "Crash isolation",
        "None: a thread that crashes the interpreter takes every other thread with it.",
        "Strong: a crashing worker dies alone and the pool reports it to the caller.",
        ("crash",),
        "None: the interpreters share one process; a crash in one ends them all.",
    ),
)


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gilviz" / "reference.json"


def display_path(path: str | Path | None = None) -> str:
    """The cache's path as shown: ``~/...`` for the default one under the home folder, the
    file's name for one given by a caller (tests, the screenshot script), whose folder is
    a temporary one of no use to a reader."""
    p = Path(path) if path else cache_path()
    if p == cache_path():
        home = Path.home()
        return f"~/{p.relative_to(home)}" if p.is_relative_to(home) else str(p)
    return p.name


def load(path: str | Path | None = None) -> dict[str, Any]:
    """The cache document; an empty one when missing or unreadable."""
    p = Path(path) if path else cache_path()
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError):
        return {"version": 1, "presets": {}}
    if not isinstance(doc, dict) or not isinstance(doc.get("presets"), dict):
        return {"version": 1, "presets": {}}
    return doc


def _compact(run: dict[str, Any]) -> dict[str, Any]:
    gil = run.get("gil") or {}
    return {
        "pool": run.get("pool"),
        "label": run.get("label") or run.get("pool"),
        "pool_size": run.get("pool_size"),
        "workload": run.get("workload"),
        "tasks": run.get("tasks"),
        "size": run.get("size"),
        "chunksize": run.get("chunksize"),
        "wall_s": run.get("wall_s"),
        "speedup": run.get("speedup"),
        "contention": gil.get("contention"),
        "outcome": run.get("outcome"),
        "pickle": run.get("pickle"),
        "error": run.get("error"),
        # A label ("CPython 3.14.10 (...)"): a run's own python block is turned into one.
        "python": python_label(py) if isinstance(py := run.get("python"), dict) else py,
    }


def record(
    preset: str,
    runs: list[dict[str, Any]],
    path: str | Path | None = None,
    when: float | None = None,
    python: str | None = None,
) -> None:
    """Store the runs (``RunModel.summary()`` dicts) of a preset, made by the interpreter
    ``python`` names ("CPython 3.14.10 (...)"); a pool's newer run replaces its older one.
    Runs are told apart by their label (a preset may race one kind twice: chunksize 1 and
    250). Best effort: a cache that cannot be written is skipped."""
    p = Path(path) if path else cache_path()
    doc = load(p)
    entry = doc["presets"].get(preset) or {"runs": []}
    by_pool = {_key(r): r for r in entry.get("runs", []) if isinstance(r, dict)}
    for r in runs:
        by_pool[_key(r)] = _compact({**r, "python": python} if python else r)
    entry["runs"] = list(by_pool.values())
    now = when or time.time()
    entry["updated"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(now))
    entry["t"] = now
    doc["presets"][preset] = entry
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".reference-")
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, p)
    except OSError:
        pass


def document_of(
    preset_runs: dict[str, list[dict[str, Any]]], python: str | None, updated: str | None
) -> dict[str, Any]:
    """A cache-shaped document of given runs (a recording's presets, by name) instead of
    this machine's cache: ``table(document_of(...))`` shows what those runs measured."""
    return {
        "version": 1,
        "presets": {
            name: {
                "runs": [_compact({**r, "python": python} if python else r) for r in runs],
                "updated": updated,
            }
            for name, runs in preset_runs.items()
        },
    }


def _key(run: dict[str, Any]) -> Any:
    """What tells a preset's runs apart: the label, else the pool kind."""
    return run.get("label") or run.get("pool")


def _label(run: dict[str, Any]) -> str:
    """How a run is named in a phrase: "threads" for a pool named by its kind, else the
    preset's label ("processes (chunksize 250)")."""
    pool = run.get("pool")
    label = run.get("label")
    if label and label != pool:
        return label
    return POOL_NAMES.get(pool or "", pool or "?")


def _group_phrase(
    runs: list[dict[str, Any]], serial_wall: float | None, interpreters: bool = False
) -> str | None:
    """The runs of one workload and size in a phrase: the interpreter pools' alone, or
    every other pool's; speedups against the group's serial run."""
    parts: list[str] = []
    workload = runs[0].get("workload")
    for r in runs:
        if r.get("pool") == "serial" or (r.get("pool") == "interpreter") != interpreters:
            continue
        name = _label(r)
        refused = (r.get("outcome") or {}).get("refused")
        if refused:
            parts.append(f"{name} refused a lock ({refused.split(':')[0]})")
            continue
        if r.get("error"):
            parts.append(f"{name} failed ({_short(r['error'])})")
            continue
        outcome = r.get("outcome") or {}
        extra = ""
        if outcome.get("lost_updates") is not None:
            extra = f", lost {outcome['lost_updates']:,} of {outcome.get('expected', 0):,} updates"
        elif "lost_updates" in outcome and outcome.get("copies", 0) != 1:
            n = outcome.get("copies")
            extra = f", {f'{n} ' if n else ''}separate copies (nothing shared)"
        if outcome.get("tasks_lost") is not None:
            extra += f", {outcome['tasks_lost']} tasks lost"
        speed = r.get("speedup")
        if speed is None and serial_wall and r.get("wall_s"):
            speed = serial_wall / r["wall_s"]
        if speed is not None:
            parts.append(f"{name} {speed:.1f}x{extra}")
        elif r.get("wall_s") is not None:
            parts.append(f"{name} {r['wall_s']:.2f} s{extra}")
    if not parts:
        return None
    python = runs[0].get("python")
    return f"{', '.join(parts)} on {workload}" + (f" ({_short_python(python)})" if python else "")


def _short_python(label: str) -> str:
    """ "CPython 3.14.10 (GCC 16.2.0, static libpython)" -> "CPython 3.14.10": the build
    is in the JSON; a table cell names the version."""
    return label.split(" (")[0]


def _short(error: str) -> str:
    """An error's first clause, whole and never cut inside a word: "a process-pool worker
    terminated abruptly" of "a process-pool worker terminated abruptly (…); the pool…"."""
    return re.split(r" \(|; |: ", error, maxsplit=1)[0].strip()


def measured(row: Row, doc: dict[str, Any], interpreters: bool = False) -> str | None:
    """The "measured here" text of a row from the cache (of its interpreter-pool runs, or
    of the others), None when none of its presets ran such a pool."""
    runs: list[dict[str, Any]] = []
    entries = [doc.get("presets", {}).get(name) for name in row.presets]
    # oldest first, so that a pool's newest run (from any of the row's presets) wins
    for entry in sorted((e for e in entries if e), key=lambda e: e.get("t", 0)):
        runs += [r for r in entry.get("runs", []) if isinstance(r, dict)]
    if not runs:
        return None
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in runs:
        # Figures from two interpreters are never mixed in one phrase.
        key = (r.get("workload"), r.get("size"), r.get("tasks"), r.get("python"))
        groups.setdefault(key, [])
        # one run per pool (its label, and chunksize) per group: the newest wins
        groups[key] = [
            g for g in groups[key] if (_key(g), g.get("chunksize")) != (_key(r), r.get("chunksize"))
        ]
        groups[key].append(r)
    phrases = []
    for rs in groups.values():
        serial = next((r for r in rs if r.get("pool") == "serial" and not r.get("error")), None)
        phrase = _group_phrase(rs, serial.get("wall_s") if serial else None, interpreters)
        if phrase:
            phrases.append(phrase)
    return "; ".join(phrases) or None


def updated(row: Row, doc: dict[str, Any]) -> str | None:
    stamps = [
        doc["presets"][n].get("updated")
        for n in row.presets
        if n in doc.get("presets", {}) and doc["presets"][n].get("updated")
    ]
    return max(stamps) if stamps else None


def table(doc: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows as dicts, with the measured column filled from ``doc`` (default: cache)."""
    doc = load() if doc is None else doc
    ran = any(
        r.get("pool") == "interpreter"
        for e in doc.get("presets", {}).values()
        if isinstance(e, dict)
        for r in e.get("runs", [])
        if isinstance(r, dict)
    )
    return [
        {
            "key": row.key,
            "dimension": row.dimension,
            "threading": row.threading,
            "multiprocessing": row.multiprocessing,
            "interpreters": row.interpreters,
            "measured": measured(row, doc),
            "measured_interpreters": measured(row, doc, interpreters=True),
            # why measured_interpreters is None: nothing of this row ran on interpreters
            # yet, or no interpreter pool ran at all (that needs a 3.14+ Python)
            "interpreters_note": NOT_MEASURED if ran else NEEDS_314,
            "measured_at": updated(row, doc),
            "presets": list(row.presets),
        }
        for row in ROWS
    ]


def interpreters_cell(row: dict[str, Any]) -> str:
    """The interpreters column of a row: the words, then the figures or why there are none."""
    if row["measured_interpreters"]:
        return f"{row['interpreters']} Here: {row['measured_interpreters']}."
    return f"{row['interpreters']} ({row['interpreters_note']})"


def footer(rows: list[dict[str, Any]], path: str | Path | None = None) -> str:
    """Where the "measured here" figures come from, as a sentence: when they were measured
    and where gilviz keeps them."""
    where = display_path(path)
    stamps = [r["measured_at"] for r in rows if r.get("measured_at")]
    if not stamps:
        return (
            "Nothing measured here yet: a row's figures appear once one of its presets has "
            f"run on this machine; gilviz keeps them in {where}."
        )
    return (
        "Measured here: each row's figures are from the last run of its presets on this "
        f"machine (latest {max(stamps)}), kept in {where}."
    )


def source_note(path: Path | None = None, rows: list[dict[str, Any]] | None = None) -> str:
    """The footer, and that ``gilviz reference`` measures nothing itself."""
    rows = table(load(path)) if rows is None else rows
    return (
        f"{footer(rows, path)} This command only reads them: run a preset to measure again "
        "(gilviz run --preset NAME, or from the dashboard or talk)."
    )


def markdown(
    rows: list[dict[str, Any]],
    path: Path | None = None,
    note: str | None = None,
    missing: str = NOT_MEASURED,
    measured_title: str = "measured here",
) -> str:
    """The table in Markdown; ``note`` says where the figures come from (default: the
    cache at ``path``), ``missing`` fills a row none of whose presets ran."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    out = [
        f"| | threading | multiprocessing | {measured_title} | interpreters (3.14+) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        out.append(
            f"| **{cell(r['dimension'])}** | {cell(r['threading'])} | {cell(r['multiprocessing'])} "
            f"| {cell(r['measured'] or missing)} | {cell(interpreters_cell(r))} |"
        )
    out += [
        "",
        f"_{note + '.' if note else source_note(path, rows)} Presets per row: "
        + "; ".join(f"{r['dimension']}: {', '.join(r['presets'])}" for r in rows)
        + "._",
    ]
    return "\n".join(out)


def text(rows: list[dict[str, Any]], width: int = 100, path: Path | None = None) -> str:
    rest = (width - 16 - 8) // 4
    widths = [16, rest, rest, rest, rest]
    head = ["", "threading", "multiprocessing", "measured here", "interpreters (3.14+)"]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    out.append("-" * min(width, sum(widths) + 8))
    for r in rows:
        cols = [
            r["dimension"],
            r["threading"],
            r["multiprocessing"],
            r["measured"] or NOT_MEASURED,
            interpreters_cell(r),
        ]
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cols, widths, strict=True)]
        for i in range(max(len(w) for w in wrapped)):
            out.append(
                "  ".join(
                    (w[i] if i < len(w) else "").ljust(wd)
                    for w, wd in zip(wrapped, widths, strict=True)
                ).rstrip()
            )
        out.append("")
    out.append(textwrap.fill(source_note(path, rows), width))
    return "\n".join(out)


def cli_reference(args: Any) -> int:
    """``gilviz reference [--markdown|--json]``."""
    path = cache_path()
    rows = table(load(path))
    if getattr(args, "json", False):
        doc = {"source": source_note(path, rows), "cache": str(path), "rows": rows}
        print(json.dumps(doc, indent=2))
    elif getattr(args, "markdown", False):
        print(markdown(rows, path))
    else:
        import shutil

        print(text(rows, min(120, shutil.get_terminal_size((100, 24)).columns), path))
    return 0
