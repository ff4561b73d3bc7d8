"""Claims: what a preset's narration promises, kept as data and checked against measured runs.

A claim is a TOML table with a ``kind`` taken from the small vocabulary in :data:`KINDS`, plus
the fields that kind needs. Pools are named by their label in the preset (a pool's ``label``,
else its kind: ``serial``, ``thread``, ``process``). Every threshold lives in the deck; nothing
here knows any preset by name, and nothing here invents a figure: each verdict quotes the
measured numbers it was decided on.

Verdicts are three-valued: True (the measurement agrees), False (it does not, or a run the
claim needs failed), None (it cannot be decided here: too few cores, a figure the platform
cannot measure, a run that is missing).

Stdlib only and no import of :mod:`gilviz.core.teaching.presets`, which wraps the verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gilviz.core import protocol
from gilviz.core.errors import did_you_mean
from gilviz.core.protocol import STATE_WORDS, STATES

#: How a pool kind reads in a sentence when the preset gives it no label.
POOL_NAMES: dict[str, str] = {**protocol.POOL_NAMES, "serial": "the serial run"}


class ClaimError(Exception):
    """A claim table that does not fit the vocabulary; ``key`` is the offending key and
    ``index`` the position inside an ``all`` claim's ``of`` list, when nested."""

    def __init__(self, key: str, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.index = index


# --- the vocabulary ------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field of a claim kind. type: label, labels, number, int, str, state, metric,
    claims (a list of nested claims)."""

    type: str
    required: bool = True
    default: Any = None
    doc: str = ""


@dataclass(frozen=True)
class Kind:
    name: str
    doc: str
    fields: dict[str, Field]
    needs_serial: bool = False  # it reads speedups, so the preset must race a serial run


_COMMON: dict[str, Field] = {
    "kind": Field("str", doc="one of the kinds below"),
    "needs_cores": Field(
        "int", False, 1, "usable cores the claim needs; fewer gives an undecided verdict"
    ),
}

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "faster",
            "winner's wall time beats loser's by at least min_ratio",
            {
                "winner": Field("label"),
                "loser": Field("label"),
                "min_ratio": Field("number", False, 1.0, "loser wall / winner wall"),
            },
        ),
        Kind(
            "speedup_at_least",
            "the pool's speedup over the serial run is at least min",
            {"pool": Field("label"), "min": Field("number")},
            needs_serial=True,
        ),
        Kind(
            "speedup_at_most",
            "the pool's speedup over the serial run is at most max",
            {"pool": Field("label"), "max": Field("number")},
            needs_serial=True,
        ),
        Kind(
            "parallelism_at_least",
            "the pool's parallelism (cpu seconds / wall seconds) is at least min",
            {"pool": Field("label"), "min": Field("number")},
        ),
        Kind(
            "parallelism_at_most",
            "the pool's parallelism (cpu seconds / wall seconds) is at most max",
            {"pool": Field("label"), "max": Field("number")},
        ),
        Kind(
            "contention_above",
            "share of the pool's busy time spent waiting for the GIL is at least min (0..1)",
            {"pool": Field("label"), "min": Field("number")},
        ),
        Kind(
            "contention_below",
            "share of the pool's busy time spent waiting for the GIL is at most max (0..1)",
            {"pool": Field("label"), "max": Field("number")},
        ),
        Kind(
            "state_dominant",
            "of the pool's busy time (idle left out), state has the biggest share",
            {"pool": Field("label"), "state": Field("state")},
        ),
        Kind(
            "latency_p99_ratio",
            "the heartbeat p99 of high is at least min_ratio times the largest p99 of low",
            {
                "high": Field("label"),
                "low": Field("labels", doc="a label or a list of labels"),
                "min_ratio": Field("number"),
            },
        ),
        Kind(
            "monotonic_latency",
            "heartbeat latency (metric) falls along pools, each step rising by at most "
            "slack (a fraction), and first / last is at least min_ratio",
            {
                "pools": Field("labels"),
                "metric": Field("metric", False, "p99"),
                "slack": Field("number", False, 0.0),
                "min_ratio": Field("number", False, 1.0),
            },
        ),
        Kind(
            "lost_updates",
            "lossy's shared counter lost updates; exact lost none (its own copies add up)",
            {"lossy": Field("label"), "exact": Field("label")},
        ),
        Kind(
            "crash_isolation",
            "both runs crashed and gilviz reported each: thread's error contains "
            "thread_error, process's error contains process_error",
            {
                "thread": Field("label", False, "thread"),
                "process": Field("label", False, "process"),
                "thread_error": Field("str", False, "killed by SIG"),
                "process_error": Field("str", False, "pool is broken"),
            },
        ),
        Kind(
            "refused",
            "shared's tasks were handed one object and counted every update on it; each of "
            "refused would not take it, and said why (containing error, when given)",
            {
                "shared": Field("label"),
                "refused": Field("labels", doc="a label or a list of labels"),
                "error": Field("str", False, None, "text the refusal must contain"),
            },
        ),
        Kind(
            "pickle_cost",
            "time spent pickling arguments and results is at least min_share of the "
            "pool's wall time",
            {"pool": Field("label"), "min_share": Field("number")},
        ),
        Kind(
            "all",
            "every claim in of holds",
            {"of": Field("claims")},
        ),
    )
}


# --- validation ----------------------------------------------------------------------------


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def unknown_text(word: str, choices: list[str] | tuple[str, ...], takes: str) -> str:
    """ "(did you mean 'x'?)" when a choice is close, else "; <takes> a, b, c"."""
    hint = did_you_mean(word, choices)
    return hint if hint else f"; {takes} {', '.join(choices)}"


def validate(
    data: Any, labels: list[str], has_serial: bool, index: int | None = None
) -> dict[str, Any]:
    """The claim table checked against the vocabulary and the preset's pool labels, with
    defaults filled in. Raises ClaimError(key, message)."""
    if not isinstance(data, dict):
        raise ClaimError("claim", f"must be a table, not {type_name(data)}", index)
    kind_name = data.get("kind")
    if kind_name is None:
        known = {name for k in KINDS.values() for name in k.fields} | set(_COMMON)
        for key in data:
            if key not in known:
                raise ClaimError(
                    key, "unknown key" + unknown_text(key, sorted(known), "claims take"), index
                )
        raise ClaimError("kind", f"missing; use one of {', '.join(KINDS)}", index)
    if not isinstance(kind_name, str) or kind_name not in KINDS:
        hint = did_you_mean(kind_name, tuple(KINDS)) if isinstance(kind_name, str) else ""
        raise ClaimError(
            "kind",
            f"unknown claim kind {kind_name!r}{hint}; use one of {', '.join(KINDS)}",
            index,
        )
    kind = KINDS[kind_name]
    fields = {**_COMMON, **kind.fields}
    for key in data:
        if key not in fields:
            raise ClaimError(
                key,
                f"unknown key for a {kind_name!r} claim"
                + unknown_text(key, tuple(fields), "it takes"),
                index,
            )
    out: dict[str, Any] = {}
    for key, f in fields.items():
        if key not in data:
            if f.required:
                raise ClaimError(key, f"a {kind_name!r} claim needs {key!r}", index)
            out[key] = f.default
            continue
        out[key] = _validate_field(key, f, data[key], labels, has_serial, index)
    if kind.needs_serial and not has_serial:
        raise ClaimError(
            "kind", f"a {kind_name!r} claim reads speedups: race a serial pool too", index
        )
    if out["needs_cores"] < 1:
        raise ClaimError("needs_cores", "must be at least 1", index)
    return out


def _validate_field(
    key: str, f: Field, value: Any, labels: list[str], has_serial: bool, index: int | None
) -> Any:
    def bad(what: str) -> ClaimError:
        return ClaimError(key, f"must be {what}, not {type_name(value)}", index)

    def label(v: Any) -> str:
        if not isinstance(v, str):
            raise bad("a pool label (a string)")
        if v not in labels:
            raise ClaimError(
                key,
                f"no pool labelled {v!r} in this preset{did_you_mean(v, labels)}; "
                f"its pools are {', '.join(labels)}",
                index,
            )
        return v

    if f.type == "label":
        return label(value)
    if f.type == "labels":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise bad("a pool label or a non-empty list of labels")
        return [label(v) for v in items]
    if f.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        if value < 0:
            raise ClaimError(key, f"must not be negative, not {value!r}", index)
        return float(value)
    if f.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if f.type == "str":
        if not isinstance(value, str) or not value:
            raise bad("a non-empty string")
        return value
    if f.type == "state":
        if value not in STATES:
            raise ClaimError(
                key,
                f"unknown state {value!r}{did_you_mean(str(value), STATES)}; "
                f"use one of {', '.join(STATES)}",
                index,
            )
        return value
    if f.type == "metric":
        if value not in ("p50", "p99"):
            raise bad("'p50' or 'p99'")
        return value
    if f.type == "claims":
        if index is not None:
            raise ClaimError(key, "an 'all' claim cannot nest another 'all'", index)
        if not isinstance(value, list) or not value:
            raise bad("a non-empty list of claim tables")
        return [validate(v, labels, has_serial, i) for i, v in enumerate(value)]
    raise AssertionError(f"unknown field type {f.type}")  # pragma: no cover


# --- evaluation ----------------------------------------------------------------------------


class _Undecided(Exception):
    """The claim cannot be decided from these runs (verdict None)."""


class _RunFailed(Exception):
    """A run the claim reads failed (verdict False: the claim was not shown)."""


Verdict = tuple[bool | None, str]


@dataclass
class _Ctx:
    runs: Mapping[str, dict[str, Any]]
    names: Mapping[str, str]
    cores: int
    load: float | None = None  # 1-minute load average when the verdict is given

    def name(self, label: str) -> str:
        return self.names.get(label, label)

    def run(self, label: str, allow_error: bool = False) -> dict[str, Any]:
        r = self.runs.get(label)
        if r is None:
            raise _Undecided(f"no {self.name(label)} run")
        if r.get("error") and not allow_error:
            raise _RunFailed(f"the {self.name(label)} run failed: {r['error']}")
        return r


def _x(v: float) -> str:
    return f"{v:.2f}x"


def _g(v: float) -> str:
    return f"{v:g}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _ms(v: float) -> str:
    return f"{v:.1f} ms" if v >= 1 else f"{v:.2f} ms"


def _speedup(ctx: _Ctx, label: str) -> float:
    s = ctx.run(label).get("speedup")
    if s is None:
        raise _Undecided(f"no speedup for {ctx.name(label)}: the serial run is missing or failed")
    return float(s)


def _wall(ctx: _Ctx, label: str) -> float:
    w = ctx.run(label).get("wall_s")
    if not w:
        raise _Undecided(f"no wall time for {ctx.name(label)}")
    return float(w)


# Each kind: a description (no figures) and a check giving (ok, figures).


def _desc_faster(c: dict[str, Any], ctx: _Ctx) -> str:
    by = f" by at least {_g(c['min_ratio'])}x" if c["min_ratio"] > 1 else ""
    return f"{ctx.name(c['winner'])} faster than {ctx.name(c['loser'])}{by}"


def _check_faster(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    ww, lw = _wall(ctx, c["winner"]), _wall(ctx, c["loser"])
    ratio = lw / ww
    ws, ls = ctx.run(c["winner"]).get("speedup"), ctx.run(c["loser"]).get("speedup")
    if ws is not None and ls is not None:
        figures = f"{_x(ws)} vs {_x(ls)} speedup (wall {ww:.3f} s vs {lw:.3f} s)"
    else:
        figures = f"{ww:.3f} s vs {lw:.3f} s ({_x(ratio)})"
    return ratio >= c["min_ratio"], figures


def _desc_speedup_at_least(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"speedup on {ctx.name(c['pool'])} at least {_g(c['min'])}x"


def _check_speedup_at_least(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    s = _speedup(ctx, c["pool"])
    return s >= c["min"], f"{_x(s)} (wall {_wall(ctx, c['pool']):.3f} s)"


def _desc_speedup_at_most(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"speedup on {ctx.name(c['pool'])} at most {_g(c['max'])}x"


def _check_speedup_at_most(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    s = _speedup(ctx, c["pool"])
    return s <= c["max"], f"{_x(s)} (wall {_wall(ctx, c['pool']):.3f} s)"


def _parallelism(ctx: _Ctx, label: str) -> tuple[float, str]:
    r = ctx.run(label)
    par = r.get("parallelism")
    if par is None:
        raise _Undecided(f"no parallelism figure for {ctx.name(label)}")
    return float(
        par
    ), f"{par:.2f} (cpu {r.get('cpu_s') or 0:.3f} s / wall {r.get('wall_s') or 0:.3f} s)"


def _desc_parallelism_at_least(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"parallelism on {ctx.name(c['pool'])} at least {_g(c['min'])} cores"


def _check_parallelism_at_least(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    par, figures = _parallelism(ctx, c["pool"])
    return par >= c["min"], f"parallelism {figures}"


def _desc_parallelism_at_most(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"parallelism on {ctx.name(c['pool'])} at most {_g(c['max'])} cores"


def _check_parallelism_at_most(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    par, figures = _parallelism(ctx, c["pool"])
    return par <= c["max"], f"parallelism {figures}"


def _contention(ctx: _Ctx, label: str) -> float:
    gil = ctx.run(label).get("gil") or {}
    value = gil.get("contention")
    if value is None:
        method = gil.get("method") or "no sampler"
        raise _Undecided(f"GIL contention of {ctx.name(label)} is n/a ({method})")
    return float(value)


def _desc_contention_above(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"GIL wait on {ctx.name(c['pool'])} at least {_pct(c['min'])} of busy time"


def _check_contention_above(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    v = _contention(ctx, c["pool"])
    return v >= c["min"], f"GIL contention {_pct(v)}"


def _desc_contention_below(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"GIL wait on {ctx.name(c['pool'])} at most {_pct(c['max'])} of busy time"


def _check_contention_below(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    v = _contention(ctx, c["pool"])
    return v <= c["max"], f"GIL contention {_pct(v)}"


def _state(state: str) -> str:
    return STATE_WORDS.get(state, state)


def _desc_state_dominant(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"{_state(c['state'])} the largest share of busy time on {ctx.name(c['pool'])}"


def _check_state_dominant(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    states = ctx.run(c["pool"]).get("states") or {}
    busy = {k: v for k, v in states.items() if k != "idle" and v is not None}
    total = sum(busy.values())
    if not busy or total <= 0:
        raise _Undecided(f"no state split for {ctx.name(c['pool'])} (not sampled here)")
    shares = sorted(((v / total, k) for k, v in busy.items()), reverse=True)
    top_share, top = shares[0]
    mine = busy.get(c["state"], 0.0) / total
    mine_text = f"{_state(c['state'])} {_pct(mine)} of busy time"
    if top == c["state"]:
        nxt = f", next {_state(shares[1][1])} {_pct(shares[1][0])}" if len(shares) > 1 else ""
        return True, mine_text + nxt
    return False, f"{mine_text}, but {_state(top)} {_pct(top_share)}"


def _p(ctx: _Ctx, label: str, metric: str = "p99") -> float:
    lat = ctx.run(label).get("latency_ms") or {}
    v = lat.get(metric)
    if v is None:
        raise _Undecided(f"no heartbeat latency for {ctx.name(label)}")
    return float(v)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _desc_latency_p99_ratio(c: dict[str, Any], ctx: _Ctx) -> str:
    return (
        f"heartbeat p99 on {ctx.name(c['high'])} at least {_g(c['min_ratio'])}x that "
        f"on {_and([ctx.name(lo) for lo in c['low']])}"
    )


def _check_latency_p99_ratio(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    high = _p(ctx, c["high"])
    lows = [_p(ctx, lo) for lo in c["low"]]
    worst = max(lows)
    ratio = high / worst if worst > 0 else float("inf")
    figures = f"{_ms(high)} vs {' / '.join(_ms(v) for v in lows)} ({ratio:.1f}x)"
    return ratio >= c["min_ratio"], figures


def _desc_monotonic_latency(c: dict[str, Any], ctx: _Ctx) -> str:
    path = " → ".join(ctx.name(label) for label in c["pools"])
    return f"heartbeat {c['metric']} falls along {path}"


def _check_monotonic_latency(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    values = [_p(ctx, label, c["metric"]) for label in c["pools"]]
    walls = [_wall(ctx, label) for label in c["pools"]]
    figures = (
        " → ".join(_ms(v) for v in values)
        + " (wall "
        + " → ".join(f"{w:.2f}" for w in walls)
        + " s)"
    )
    ok = True
    notes = []
    for a, b, la, lb in zip(values, values[1:], c["pools"], c["pools"][1:], strict=False):
        if b > a * (1 + c["slack"]):
            ok = False
            notes.append(f"rose from {ctx.name(la)} to {ctx.name(lb)}")
    first, last = values[0], values[-1]
    ratio = first / last if last > 0 else float("inf")
    if ratio < c["min_ratio"]:
        ok = False
        notes.append(f"first/last only {ratio:.1f}x, needs {_g(c['min_ratio'])}x")
    return ok, figures + (f"; {'; '.join(notes)}" if notes else "")


def _outcome(ctx: _Ctx, label: str) -> dict[str, Any]:
    out = ctx.run(label).get("outcome")
    if not isinstance(out, dict) or "expected" not in out:
        raise _Undecided(f"the {ctx.name(label)} run reported no counter outcome")
    return out


def _desc_lost_updates(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"updates lost on {ctx.name(c['lossy'])}, none on {ctx.name(c['exact'])}"


def _check_lost_updates(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    lossy, exact = _outcome(ctx, c["lossy"]), _outcome(ctx, c["exact"])
    lost = lossy.get("lost_updates") or 0
    lossy_ok = lost > 0
    part1 = f"{ctx.name(c['lossy'])}: {lost:,} of {lossy['expected']:,} lost"
    if exact.get("lost_updates") is None:  # separate copies, one per process
        copies = exact.get("per_process") or []
        total = sum(copies)
        exact_ok = total == exact["expected"]
        part2 = (
            f"{ctx.name(c['exact'])}: {len(copies)} separate "
            f"{'copy' if len(copies) == 1 else 'copies'} adding up to {total:,} of "
            f"{exact['expected']:,}"
        )
    else:
        exact_lost = exact["lost_updates"]
        exact_ok = exact_lost == 0
        part2 = f"{ctx.name(c['exact'])}: {exact_lost:,} of {exact['expected']:,} lost"
    return lossy_ok and exact_ok, f"{part1}; {part2}"


def _desc_crash_isolation(c: dict[str, Any], ctx: _Ctx) -> str:
    return (
        f"gilviz survives a crashing task on {ctx.name(c['thread'])} and on "
        f"{ctx.name(c['process'])}, and reports each"
    )


def _check_crash_isolation(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    parts, ok = [], True
    for label, pattern, what in (
        (c["thread"], c["thread_error"], "the whole process went down"),
        (c["process"], c["process_error"], "workers died, the runner carried on"),
    ):
        r = ctx.run(label, allow_error=True)
        err = r.get("error")
        done = f"{r.get('tasks_done', 0)} of {r.get('tasks', '?')} tasks done"
        if not err:
            ok = False
            parts.append(f"{ctx.name(label)}: no crash was reported")
        elif pattern.lower() not in err.lower():
            ok = False
            parts.append(f"{ctx.name(label)}: unexpected error: {err}")
        else:
            parts.append(f"{ctx.name(label)}: {what}, {done} ({pattern!r})")
    return ok, "; ".join(parts)


def _desc_refused(c: dict[str, Any], ctx: _Ctx) -> str:
    refused = _and([ctx.name(label) for label in c["refused"]])
    return f"{ctx.name(c['shared'])} share one object; {refused} refuse it"


def _check_refused(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    shared = ctx.run(c["shared"])
    out = shared.get("outcome") or {}
    if "objects" not in out:
        raise _Undecided(f"the {ctx.name(c['shared'])} run reported no shared-object outcome")
    ok = out["objects"] == 1 and out["total"] == out["expected"]
    n = out["objects"]
    parts = [
        f"{ctx.name(c['shared'])}: {n} object{'' if n == 1 else 's'} for "
        f"{shared.get('tasks_done', '?')} tasks, {out['total']:,} of {out['expected']:,} "
        "updates counted"
    ]
    for label in c["refused"]:
        r = ctx.run(label, allow_error=True)
        said = (r.get("outcome") or {}).get("refused")
        if said is None:
            ok = False
            how = f"failed otherwise: {r['error']}" if r.get("error") else "took it"
            parts.append(f"{ctx.name(label)} {how}")
        elif c["error"] and c["error"].lower() not in said.lower():
            ok = False
            parts.append(f"{ctx.name(label)} refused it, but not with {c['error']!r}: {said}")
        else:
            parts.append(f"{ctx.name(label)} refused it: {said}")
    return ok, "; ".join(parts)


def _desc_pickle_cost(c: dict[str, Any], ctx: _Ctx) -> str:
    return f"pickling on {ctx.name(c['pool'])} at least {_pct(c['min_share'])} of wall time"


def _check_pickle_cost(c: dict[str, Any], ctx: _Ctx) -> tuple[bool, str]:
    r = ctx.run(c["pool"])
    p = r.get("pickle")
    if not p:
        raise _Undecided(f"the {ctx.name(c['pool'])} run reported no pickling figures")
    secs = float(p.get("args_s", 0)) + float(p.get("results_s", 0))
    mib = (p.get("args_bytes", 0) + p.get("results_bytes", 0)) / 2**20
    wall = _wall(ctx, c["pool"])
    share = secs / wall
    return share >= c["min_share"], (
        f"{secs:.3f} s pickling {mib:.1f} MiB (runner and workers together) "
        f"against {wall:.3f} s wall ({_pct(share)})"
    )


_DESC: dict[str, Callable[[dict[str, Any], _Ctx], str]] = {
    name[len("_desc_") :]: fn for name, fn in globals().items() if name.startswith("_desc_")
}
_CHECK: dict[str, Callable[[dict[str, Any], _Ctx], tuple[bool, str]]] = {
    name[len("_check_") :]: fn for name, fn in globals().items() if name.startswith("_check_")
}


def _one(claim: dict[str, Any], ctx: _Ctx) -> Verdict:
    kind = claim["kind"]
    if kind == "all":
        verdicts = [_one(sub, ctx) for sub in claim["of"]]
        oks = [ok for ok, _ in verdicts]
        ok: bool | None
        if any(v is False for v in oks):
            ok = False
        elif any(v is None for v in oks):
            ok = None
        else:
            ok = True
        text = "; ".join(t for _, t in verdicts)
        if claim["needs_cores"] > ctx.cores:
            return (
                None,
                f"{text} (needs {claim['needs_cores']} cores, this machine has {ctx.cores})",
            )
        return ok, text
    desc = _DESC[kind](claim, ctx)
    if claim["needs_cores"] > ctx.cores:
        n = claim["needs_cores"]
        return None, f"{desc}: needs {n} cores, this machine has {ctx.cores}"
    try:
        ok1, figures = _CHECK[kind](claim, ctx)
    except _Undecided as exc:
        return None, f"{desc}: {exc}"
    except _RunFailed as exc:
        return False, f"{desc}: {exc}"
    if not ok1 and claim["needs_cores"] > 1 and ctx.load is not None and ctx.load > ctx.cores:
        # A fact beside the verdict, not an excuse that changes it.
        figures += f" (the machine was busy: load average {ctx.load:.1f} on {ctx.cores} cores)"
    return ok1, f"{desc}: {figures}"


def evaluate(
    claim: dict[str, Any],
    runs: Mapping[str, dict[str, Any]],
    names: Mapping[str, str],
    cores: int,
    load: float | None = None,
) -> Verdict:
    """(ok, text) for a validated claim, given the runs by pool label, how each label reads
    in a sentence, the usable cores of this machine and, optionally, its load average (a
    false verdict of a claim that needs several cores then says when the machine was busy)."""
    return _one(claim, _Ctx(runs, names, cores, load))


def subjects(claim: dict[str, Any]) -> list[str]:
    """The pool labels a validated claim names, in the order its kind declares them (an
    ``all`` claim: its parts' in turn), each once: the runs a screen shows with the claim."""
    out: list[str] = []
    parts = claim["of"] if claim.get("kind") == "all" else [claim]
    for part in parts:
        kind = KINDS.get(part.get("kind", ""))
        for key, f in kind.fields.items() if kind else ():
            value = part.get(key)
            if f.type == "label":
                value = [value]
            elif f.type != "labels":
                continue
            out += [v for v in value or () if isinstance(v, str) and v not in out]
    return out


def vocabulary() -> list[dict[str, Any]]:
    """The claim kinds and their fields, for documentation and ``--json``."""
    return [
        {
            "kind": k.name,
            "doc": k.doc,
            "fields": {
                name: {"type": f.type, "required": f.required, "default": f.default}
                for name, f in {**k.fields, "needs_cores": _COMMON["needs_cores"]}.items()
            },
        }
        for k in KINDS.values()
    ]
