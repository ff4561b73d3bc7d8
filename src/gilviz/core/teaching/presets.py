"""Presets: the talk deck as data. A preset names a workload, its parameters, the pools to
race and a narration whose claim gilviz checks against the measurement after the run.

Built-ins live in ``gilviz/presets/*.toml`` (read with importlib.resources, in file-name
order); a user's deck is any TOML file of the same shape. The schema is written out at the
top of the first built-in file and in ``docs/presets.md``; claim kinds are in
:mod:`gilviz.core.teaching.claims`.

A bad deck is bad input: one line naming the file, the line and the key, e.g.
``deck.toml:7: preset 'crunch-x', key 'worklaod': unknown key (did you mean 'workload'?)``.
tomllib gives no line numbers for keys, so :class:`_Locator` finds them in the file's text,
within the table of the preset (and pool, and claim) they belong to.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from gilviz.core.errors import BadInput
from gilviz.core.measuring import machine
from gilviz.core.running import workloads
from gilviz.core.running.spec import POOLS, RunSpec, build_spec
from gilviz.core.teaching import claims as claims_mod


@dataclass(frozen=True)
class PoolChoice:
    """One pool a preset runs: kind, size and process-pool options."""

    pool: str
    workers: int | None = None
    start_method: str | None = None
    chunksize: int | None = None
    switch_interval: float | None = None
    #: The name claims use for this pool and the text shows; None: the pool kind. Needed
    #: when one preset races the same kind twice (chunksize 1 vs 250, three intervals).
    label: str | None = None

    @property
    def key(self) -> str:
        """The label claims refer to: ``label``, else the pool kind."""
        return self.label or self.pool

    @property
    def display(self) -> str:
        """How this pool reads in a sentence: its label, else e.g. "threads"."""
        return self.label or claims_mod.POOL_NAMES.get(self.pool, self.pool)


@dataclass(frozen=True)
class ClaimResult:
    """A preset's claim checked against measured runs: True/False, or None when it cannot
    be decided here (e.g. it needs two cores on a one-core machine); ``text`` gives the
    figures, e.g. "processes faster than threads: 1.92x vs 1.01x"."""

    ok: bool | None
    text: str


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    workload: str
    teaches: str  # the row of the seed's table it teaches, e.g. "GIL", "best for"
    narration: tuple[str, ...]
    pools: tuple[PoolChoice, ...]
    size: int | None = None
    tasks: int | None = None
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {"delay_ms": 200}
    claim: dict[str, Any] | None = None  # the claim's data, checked by check_claim
    source: str = "built-in"  # file it came from
    #: The seed rows it teaches, each one of SEED_ROWS; ``teaches`` is them joined.
    rows: tuple[str, ...] = ()
    line: int = 0  # line of its [[preset]] header in ``source`` (0: unknown)
    #: A user function's arguments (``gilviz WORKLOAD --args``), a Python literal.
    args: str | None = None


#: The rows of the seed's quick-reference table a preset can teach.
SEED_ROWS: tuple[str, ...] = ("GIL", "Memory", "Overhead", "Best for", "Crash isolation")
REQUIRED = ("name", "title", "workload", "pools", "narration")
OPTIONAL = ("teaches", "size", "tasks", "params", "claim")
POOL_KEYS = ("pool", "label", "workers", "start_method", "chunksize", "switch_interval")
PARAM_KEYS = ("delay_ms",)
MAX_NARRATION = 6
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_BUILTIN_PREFIX = "gilviz/presets/"


# --- finding lines -------------------------------------------------------------------------

_HEADER_RE = re.compile(r"^\s*(\[\[|\[)\s*([^\[\]#]+?)\s*(\]\]|\])\s*(#.*)?$")


def _norm_table(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


class _Locator:
    """Line numbers (1-based) of tables and keys in a deck's text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.end = len(self.lines) + 1
        # (line, table name, is array-of-tables)
        self.headers: list[tuple[int, str, bool]] = []
        for i, raw in enumerate(self.lines, start=1):
            m = _HEADER_RE.match(raw)
            if m and (m.group(1) == "[[") == (m.group(3) == "]]"):
                self.headers.append((i, _norm_table(m.group(2)), m.group(1) == "[["))

    def _next_header(self, after: int, stop: int) -> int:
        return next((ln for ln, _, _ in self.headers if after < ln < stop), stop)

    def preset_span(self, index: int) -> tuple[int, int]:
        """Lines [start, end) of the index-th [[preset]] table."""
        starts = [ln for ln, name, arr in self.headers if name == "preset" and arr]
        if index >= len(starts):
            return 1, self.end
        end = starts[index + 1] if index + 1 < len(starts) else self.end
        # a [table] that is not part of the preset also ends it
        for ln, name, _ in self.headers:
            if starts[index] < ln < end and not name.startswith("preset."):
                end = ln
                break
        return starts[index], end

    def top_span(self, index: int) -> tuple[int, int]:
        """The preset's own keys: from its header to its first sub-table."""
        start, end = self.preset_span(index)
        return start, self._next_header(start, end)

    def sub_spans(self, index: int, table: str) -> list[tuple[int, int]]:
        """Spans of ``[preset.<table>]`` / ``[[preset.<table>]]`` headers (with their own
        sub-tables) inside the index-th preset."""
        start, end = self.preset_span(index)
        full = f"preset.{table}"
        heads = [(ln, name) for ln, name, _ in self.headers if start < ln < end]
        spans = []
        for k, (ln, name) in enumerate(heads):
            if name != full:
                continue
            stop = end
            for ln2, name2 in heads[k + 1 :]:
                if not name2.startswith(full + "."):
                    stop = ln2
                    break
            spans.append((ln, stop))
        return spans

    def key(self, key: str, span: tuple[int, int], nth: int = 0) -> int | None:
        """Line of the nth ``key =`` within span, or None."""
        pat = re.compile(r"(^|[{,])\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        seen = 0
        for ln in range(span[0], min(span[1], self.end)):
            text = self.lines[ln - 1]
            if text.lstrip().startswith("#"):
                continue
            if pat.search(text):
                if seen == nth:
                    return ln
                seen += 1
        return None

    def pool_span(self, index: int, pool: int) -> tuple[int, int]:
        spans = self.sub_spans(index, "pools")
        if spans:
            return spans[pool] if pool < len(spans) else spans[-1]
        return self._inline("pools", self.top_span(index), pool)

    def claim_span(self, index: int, of: int | None = None) -> tuple[int, int]:
        spans = self.sub_spans(index, "claim")
        if spans:
            span = spans[0]
            if of is None:
                return span
            subs = [
                ln
                for ln, name, _ in self.headers
                if span[0] < ln < span[1] and name == "preset.claim.of"
            ]
            if of < len(subs):
                return subs[of], self._next_header(subs[of], span[1])
            return self._inline("of", span, of)
        top = self.top_span(index)
        if of is not None:
            return self._inline("of", top, of)
        at = self.key("claim", top) or top[0]
        return at, top[1]

    def _inline(self, key: str, span: tuple[int, int], n: int) -> tuple[int, int]:
        """Lines of the nth inline table ``{ ... }`` in the array after ``key =``."""
        at = self.key(key, span)
        if at is None:
            return span
        braces: list[int] = []
        after_key = re.compile(re.escape(key) + r"[\"']?\s*=")
        for ln in range(at, min(span[1], self.end)):
            text = self.lines[ln - 1]
            if text.lstrip().startswith("#"):
                continue
            if ln == at and (m := after_key.search(text)):
                text = text[m.end() :]
            braces += [ln] * text.count("{")
        if n >= len(braces):
            return at, span[1]
        lo = braces[n]
        hi = braces[n + 1] if n + 1 < len(braces) else span[1]
        return lo, max(hi, lo + 1)


# --- loading -------------------------------------------------------------------------------


class _DeckReader:
    """Validates one deck's parsed TOML into Presets; every error is one located line."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.loc = _Locator(text)
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"at line (\d+)", str(exc))
            line = m.group(1) if m else "?"
            raise BadInput(f"{source}:{line}: TOML syntax error: {exc}") from None

    def fail(self, line: int | None, message: str) -> BadInput:
        return BadInput(f"{self.source}:{line or 1}: {message}")

    def read(self) -> list[Preset]:
        for key in self.data:
            if key != "preset":
                first_table = self.loc.headers[0][0] if self.loc.headers else self.loc.end
                ln = self.loc.key(key, (1, first_table))
                hint = claims_mod.did_you_mean(key, ("preset",))
                raise self.fail(
                    ln, f"key {key!r}: unknown top-level key{hint}; a deck holds [[preset]] tables"
                )
        tables = self.data.get("preset")
        if not isinstance(tables, list) or not tables:
            raise self.fail(1, "no [[preset]] tables: a deck holds one or more presets")
        presets: list[Preset] = []
        first_line: dict[str, int] = {}
        for i, table in enumerate(tables):
            preset = self._preset(i, table)
            if preset.name in first_line:
                ln = self.loc.key("name", self.loc.top_span(i)) or preset.line
                raise self.fail(
                    ln,
                    f"preset {preset.name!r}, key 'name': duplicate preset name "
                    f"(first defined at line {first_line[preset.name]})",
                )
            first_line[preset.name] = preset.line
            presets.append(preset)
        return presets

    def _preset(self, i: int, t: Any) -> Preset:
        top = self.loc.top_span(i)
        header = top[0]
        if not isinstance(t, dict):
            raise self.fail(header, f"preset #{i + 1} must be a table")
        raw_name = t.get("name")
        who = f"preset {raw_name!r}" if isinstance(raw_name, str) else f"preset #{i + 1}"

        def err(key: str, msg: str, span: tuple[int, int] = top, where: str = "") -> BadInput:
            line = self.loc.key(key.split(".")[-1], span) or span[0]
            return self.fail(line, f"{who}{where}, key {key!r}: {msg}")

        allowed = REQUIRED + OPTIONAL
        for key in t:
            if key not in allowed:
                raise err(
                    key, "unknown key" + claims_mod.unknown_text(key, allowed, "a preset takes")
                )
        for key in REQUIRED:
            if key not in t:
                raise self.fail(
                    header,
                    f"{who}: missing required key {key!r} (a preset needs {', '.join(REQUIRED)})",
                )

        name = t["name"]
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise err(
                "name",
                f"must be lowercase letters, digits and dashes, not {claims_mod.type_name(name)}",
            )
        title = t["title"]
        if not isinstance(title, str) or not title.strip():
            raise err("title", f"must be a non-empty string, not {claims_mod.type_name(title)}")

        rows = self._rows(t.get("teaches", []), err)

        workload = t["workload"]
        if not isinstance(workload, str):
            raise err("workload", f"must be a string, not {claims_mod.type_name(workload)}")
        builtin = workloads.describe(workload)
        if builtin is None and not workloads.is_user_spec(workload):
            hint = claims_mod.did_you_mean(workload, tuple(workloads.BUILTINS))
            raise err(
                "workload",
                f"unknown workload {workload!r}{hint}; use one of "
                f"{', '.join(workloads.BUILTINS)}, or module:function, or path.py:function",
            )

        size = self._int(t, "size", err)
        tasks = self._int(t, "tasks", err)
        narration = self._narration(t["narration"], err)
        params = self._params(i, t.get("params", {}), err)
        pools = self._pools(i, t["pools"], err, who)
        for c in pools:
            try:
                build_spec(
                    workload,
                    pool=c.pool,
                    workers=c.workers,
                    tasks=tasks,
                    size=size,
                    start_method=c.start_method,
                    chunksize=c.chunksize,
                    switch_interval=c.switch_interval,
                )
            except BadInput as exc:
                key, msg = _spec_error_key(str(exc))
                if key in ("size", "tasks") or key is None:
                    if key in t:
                        raise err(key, msg) from None
                    raise self.fail(header, f"{who}: {msg}") from None
                k = pools.index(c)
                span = self.loc.pool_span(i, k)
                raise err(key, msg, span, f", pool {k + 1}") from None
        claim = None
        if "claim" in t:
            labels = [c.key for c in pools]
            has_serial = any(c.pool == "serial" for c in pools)
            try:
                claim = claims_mod.validate(t["claim"], labels, has_serial)
            except claims_mod.ClaimError as exc:
                span = self.loc.claim_span(i, exc.index)
                where = ", claim" + (f" {exc.index + 1} of 'all'" if exc.index is not None else "")
                raise err(exc.key, exc.message, span, where) from None
        return Preset(
            name=name,
            title=title.strip(),
            workload=workload,
            teaches=", ".join(rows),
            narration=narration,
            pools=pools,
            size=size,
            tasks=tasks,
            params=params,
            claim=claim,
            source=self.source,
            rows=rows,
            line=header,
        )

    @staticmethod
    def _int(t: dict[str, Any], key: str, err: Any) -> int | None:
        if key not in t:
            return None
        v = t[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise err(key, f"must be a whole number, not {claims_mod.type_name(v)}")
        return v

    @staticmethod
    def _rows(value: Any, err: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise err(
                "teaches",
                f"must be a seed row or a list of them, not {claims_mod.type_name(value)}",
            )
        rows = []
        by_lower = {r.lower(): r for r in SEED_ROWS}
        for item in items:
            row = by_lower.get(item.strip().lower()) if isinstance(item, str) else None
            if row is None:
                hint = claims_mod.did_you_mean(str(item), SEED_ROWS)
                raise err(
                    "teaches",
                    f"{item!r} is not a row of the seed's table{hint}; use {', '.join(SEED_ROWS)}",
                )
            rows.append(row)
        return tuple(rows)

    @staticmethod
    def _narration(value: Any, err: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [line for line in value.splitlines() if line.strip()]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise err(
                "narration",
                f"must be a list of non-empty strings, not {claims_mod.type_name(value)}",
            )
        if len(value) > MAX_NARRATION:
            raise err("narration", f"has {len(value)} lines; keep it to {MAX_NARRATION} or fewer")
        return tuple(v.strip() for v in value)

    def _params(self, i: int, value: Any, err: Any) -> dict[str, Any]:
        spans = self.loc.sub_spans(i, "params")
        span = spans[0] if spans else self.loc.top_span(i)
        if not isinstance(value, dict):
            raise err("params", f"must be a table, not {claims_mod.type_name(value)}")
        for key, v in value.items():
            if key not in PARAM_KEYS:
                raise err(
                    key,
                    "unknown parameter" + claims_mod.unknown_text(key, PARAM_KEYS, "params take"),
                    span,
                    ", params",
                )
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 600_000:
                raise err(
                    key,
                    f"must be a number of ms (0 to 600000), not {claims_mod.type_name(v)}",
                    span,
                    ", params",
                )
        return dict(value)

    def _pools(self, i: int, value: Any, err: Any, who: str) -> tuple[PoolChoice, ...]:
        if not isinstance(value, list) or not value:
            raise err(
                "pools",
                f"must be a non-empty list of pool tables, not {claims_mod.type_name(value)}",
            )
        out: list[PoolChoice] = []
        for k, p in enumerate(value):
            span = self.loc.pool_span(i, k)
            where = f", pool {k + 1}"

            def perr(
                key: str, msg: str, span: tuple[int, int] = span, where: str = where
            ) -> BadInput:
                return err(key, msg, span, where)

            if not isinstance(p, dict):
                raise perr("pools", f"must be a table, not {claims_mod.type_name(p)}")
            for key in p:
                if key not in POOL_KEYS:
                    raise perr(
                        key, "unknown key" + claims_mod.unknown_text(key, POOL_KEYS, "a pool takes")
                    )
            if "pool" not in p:
                raise self.fail(span[0], f"{who}{where}: missing required key 'pool'")
            kind = p["pool"]
            if kind not in POOLS:
                hint = claims_mod.did_you_mean(str(kind), POOLS)
                raise perr("pool", f"unknown pool {kind!r}{hint}; use one of {', '.join(POOLS)}")
            ints = {}
            for key in ("workers", "chunksize"):
                v = p.get(key)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                    raise perr(key, f"must be a whole number, not {claims_mod.type_name(v)}")
                ints[key] = v
            sm = p.get("start_method")
            if sm is not None and not isinstance(sm, str):
                raise perr("start_method", f"must be a string, not {claims_mod.type_name(sm)}")
            si = p.get("switch_interval")
            if si is not None and (isinstance(si, bool) or not isinstance(si, int | float)):
                raise perr(
                    "switch_interval",
                    f"must be a number of seconds, not {claims_mod.type_name(si)}",
                )
            label = p.get("label")
            if label is not None and (not isinstance(label, str) or not label.strip()):
                raise perr(
                    "label", f"must be a non-empty string, not {claims_mod.type_name(label)}"
                )
            choice = PoolChoice(
                pool=kind,
                workers=ints["workers"],
                start_method=sm,
                chunksize=ints["chunksize"],
                switch_interval=None if si is None else float(si),
                label=label,
            )
            clash = next((c for c in out if c.key == choice.key), None)
            if clash is not None:
                key = "label" if label is not None else "pool"
                raise perr(
                    key,
                    f"two pools are called {choice.key!r}: give each a distinct 'label' "
                    "so that claims can tell them apart",
                )
            out.append(choice)
        return tuple(out)


_SPEC_KEYS = {
    "--size": "size",
    "--tasks": "tasks",
    "--workers": "workers",
    "--chunksize": "chunksize",
    "--switch-interval": "switch_interval",
    "--start-method": "start_method",
    "unknown start method": "start_method",
}


def _spec_error_key(msg: str) -> tuple[str | None, str]:
    """Which preset key a build_spec complaint is about, and the complaint without the
    command-line option's name ("--workers must be ..." -> ("workers", "must be ..."))."""
    for prefix, key in _SPEC_KEYS.items():
        if msg.startswith(prefix):
            if prefix.startswith("--") and " must " in msg:
                return key, msg[msg.index(" must ") + 1 :]
            if prefix == "--start-method":
                return key, "applies to process pools only" + msg[
                    len("--start-method applies to the process pool") :
                ]
            return key, msg
    return None, msg


def _parse(text: str, source: str) -> list[Preset]:
    return _DeckReader(text, source).read()


def load_deck(path: str | Path) -> list[Preset]:
    """The presets of a TOML deck file, validated; BadInput (one located line) if bad."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the deck: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: the deck is not UTF-8 text ({exc.reason})") from None
    return _parse(text, str(path))


@lru_cache(maxsize=1)
def _builtins() -> tuple[Preset, ...]:
    folder = resources.files("gilviz") / "presets"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    out: list[Preset] = []
    seen: dict[str, str] = {}
    for f in files:
        source = _BUILTIN_PREFIX + f.name
        for preset in _parse(f.read_text(encoding="utf-8"), source):
            if preset.name in seen:
                raise BadInput(
                    f"{source}:{preset.line}: preset {preset.name!r}, key 'name': duplicate "
                    f"preset name (also in {seen[preset.name]})"
                )
            seen[preset.name] = source
            out.append(preset)
    return tuple(out)


def builtin_presets() -> list[Preset]:
    """The built-in deck, in talk order."""
    return list(_builtins())


def deck_presets(deck: str | Path | None = None) -> list[Preset]:
    """A deck's presets: the file's, or the built-ins when deck is None."""
    return builtin_presets() if deck is None else load_deck(deck)


def get_preset(name: str, deck: str | None = None) -> Preset:
    presets = deck_presets(deck)
    for p in presets:
        if p.name == name:
            return p
    names = [p.name for p in presets]
    hint = claims_mod.did_you_mean(name, names)
    raise BadInput(f"unknown preset {name!r}: use one of {', '.join(names)}{hint}")


# --- running -------------------------------------------------------------------------------


def preset_specs(
    preset: Preset,
    size: str | int | None = None,
    tasks: str | int | None = None,
    workers: str | int | None = None,
    python: str | None = None,
    heartbeat: bool = True,
    server_url: str | None = None,
) -> list[RunSpec]:
    """One validated RunSpec per pool of the preset, in order; the arguments (the command
    line's) win over the preset's own values."""
    params = {"url": server_url} if server_url else {}
    return [
        build_spec(
            preset.workload,
            pool=c.pool,
            workers=workers if workers is not None else c.workers,
            tasks=tasks if tasks is not None else preset.tasks,
            size=size if size is not None else preset.size,
            start_method=c.start_method,
            chunksize=c.chunksize,
            switch_interval=c.switch_interval,
            heartbeat=heartbeat,
            python=python,
            params=params,
            label=c.key,
            args=preset.args,
        )
        for c in preset.pools
    ]


def runnable_part(
    preset: Preset, pools: Mapping[str, str | None], python: str
) -> tuple[Preset, str | None]:
    """The preset without the pools the target Python cannot run (``pools``: kind -> None
    or why not), and the line that says what was left out and why; the preset as it is and
    None when nothing was. A preset none of whose pools can run is kept whole: its runs
    then fail, each with the reason."""
    missing = machine.pools_unavailable_line((c.pool for c in preset.pools), pools, python)
    if missing is None:
        return preset, None
    kept = tuple(c for c in preset.pools if pools.get(c.pool) is None)
    return (replace(preset, pools=kept) if kept else preset), f"not run: {missing}"


def _matches(c: PoolChoice, run: dict[str, Any]) -> bool:
    if run.get("pool") != c.pool:
        return False
    if c.chunksize is not None and run.get("chunksize") not in (None, c.chunksize):
        return False
    if c.switch_interval is not None and run.get("switch_interval") not in (
        None,
        c.switch_interval,
    ):
        return False
    return c.start_method is None or run.get("start_method") in (None, c.start_method)


def runs_by_label(preset: Preset, runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each run under its pool's label: by position when the runs follow the preset's pools
    (as the CLI runs them), else the first unused run of the same kind and options."""
    if len(runs) == len(preset.pools) and all(
        _matches(c, r) for c, r in zip(preset.pools, runs, strict=True)
    ):
        return {c.key: r for c, r in zip(preset.pools, runs, strict=True)}
    out: dict[str, dict[str, Any]] = {}
    used: set[int] = set()
    for c in preset.pools:
        for j, r in enumerate(runs):
            if j not in used and _matches(c, r):
                out[c.key] = r
                used.add(j)
                break
    return out


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Windows
        return None


def check_claim(
    preset: Preset,
    runs: list[dict[str, Any]],
    cores: int | None = None,
    load: float | None = None,
) -> ClaimResult:
    """The preset's claim decided from the runs' JSON dicts (speedups filled in), on this
    machine's usable cores and load, or on ``cores`` and ``load`` (a recorded machine's)."""
    if preset.claim is None:
        return ClaimResult(None, "this preset makes no claim")
    names = {c.key: c.display for c in preset.pools}
    here = cores is None
    ok, text = claims_mod.evaluate(
        preset.claim,
        runs_by_label(preset, runs),
        names,
        machine.cores_usable() if here else cores,
        _load() if here else load,
    )
    return ClaimResult(ok, text)


# --- listing -------------------------------------------------------------------------------


def preset_json(p: Preset) -> dict[str, Any]:
    """A preset as a JSON object (``gilviz presets --json``)."""
    return {
        "name": p.name,
        "title": p.title,
        "teaches": list(p.rows),
        "workload": p.workload,
        "size": p.size,
        "tasks": p.tasks,
        "pools": [
            {
                "pool": c.pool,
                "label": c.key,
                "workers": c.workers,
                "start_method": c.start_method,
                "chunksize": c.chunksize,
                "switch_interval": c.switch_interval,
            }
            for c in p.pools
        ],
        "params": dict(p.params),
        "narration": list(p.narration),
        "claim": p.claim,
        "source": p.source,
        "line": p.line,
    }


def preset_from_json(d: dict[str, Any]) -> Preset:
    """The preset ``preset_json`` wrote (as a recording holds it); KeyError, TypeError or
    ValueError when ``d`` is not one."""
    rows = tuple(str(r) for r in d.get("teaches") or ())
    pools = tuple(
        PoolChoice(
            pool=str(c["pool"]),
            workers=c.get("workers"),
            start_method=c.get("start_method"),
            chunksize=c.get("chunksize"),
            switch_interval=c.get("switch_interval"),
            label=c.get("label") if c.get("label") not in (None, c["pool"]) else None,
        )
        for c in d["pools"]
    )
    if not pools:
        raise ValueError("a preset without pools")
    return Preset(
        name=str(d["name"]),
        title=str(d["title"]),
        workload=str(d["workload"]),
        teaches=", ".join(rows),
        narration=tuple(str(n) for n in d.get("narration") or ()),
        pools=pools,
        size=d.get("size"),
        tasks=d.get("tasks"),
        params=dict(d.get("params") or {}),
        claim=d.get("claim"),
        source=str(d.get("source") or "built-in"),
        rows=rows,
        line=int(d.get("line") or 0),
    )


def cli_presets(args: argparse.Namespace) -> int:
    """``gilviz presets [DECK] [--json]``."""
    presets = deck_presets(getattr(args, "deck", None))
    if getattr(args, "json", False):
        print(json.dumps([preset_json(p) for p in presets], indent=2))
        return 0
    rows = [
        (p.name, p.workload, ", ".join(c.key for c in p.pools), p.teaches or "-", p.title)
        for p in presets
    ]
    heads = ("preset", "workload", "pools", "teaches", "title")
    widths = [max(len(r[k]) for r in [*rows, heads]) for k in range(len(heads))]
    for r in [heads, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    where = "built-in deck" if getattr(args, "deck", None) is None else args.deck
    print(f"\n{len(presets)} presets ({where}); run one with: gilviz run --preset NAME")
    return 0
