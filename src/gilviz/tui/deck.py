"""The UI's access to presets: the deck to show, the specs of a preset, its claim check.

It calls ``gilviz.core.presets`` (``builtin_presets``, ``load_deck``, ``preset_specs``,
``check_claim``). Where that module does not offer one of them yet, a small stand-in keeps
the UI usable: a deck of three crunch presets built from the contract dataclasses, specs
from ``build_spec`` per pool, and a claim "not checked". No Textual import.
"""

from __future__ import annotations

from typing import Any

from gilviz.core import presets as cpresets
from gilviz.core import workloads
from gilviz.core.errors import BadInput
from gilviz.core.presets import ClaimResult, PoolChoice, Preset
from gilviz.core.spec import RunSpec, build_spec


def _fallback_deck() -> list[Preset]:
    crunch = (
        "Pure-Python arithmetic holds the GIL: watch threads take turns while processes "
        "run side by side."
    )
    return [
        Preset(
            name="crunch-threads",
            title="CPU-bound work on threads",
            workload="crunch",
            teaches="GIL",
            narration=(crunch,),
            pools=(PoolChoice("serial"), PoolChoice("thread", workers=4)),
            tasks=4,
            size=4_000_000,
        ),
        Preset(
            name="crunch-processes",
            title="CPU-bound work on processes",
            workload="crunch",
            teaches="GIL",
            narration=(crunch,),
            pools=(PoolChoice("serial"), PoolChoice("process", workers=4)),
            tasks=4,
            size=4_000_000,
        ),
        Preset(
            name="sleep-io",
            title="Waiting releases the GIL",
            workload="sleep",
            teaches="best for",
            narration=("Threads that sleep or wait for I/O let the others run.",),
            pools=(PoolChoice("serial"), PoolChoice("thread", workers=8)),
            tasks=8,
            size=200,
        ),
    ]


def load(deck_path: str | None = None) -> list[Preset]:
    """The presets of ``deck_path`` (a TOML deck), or the built-ins."""
    if deck_path:
        loader = getattr(cpresets, "load_deck", None)
        if loader is None:
            raise BadInput(f"cannot read deck {deck_path}: deck files are not supported yet")
        return list(loader(deck_path))
    builtin = getattr(cpresets, "builtin_presets", None)
    if builtin is None:
        return _fallback_deck()
    return list(builtin())


def find(deck: list[Preset], name: str) -> Preset:
    for p in deck:
        if p.name == name:
            return p
    raise BadInput(f"unknown preset {name!r}: use one of {', '.join(p.name for p in deck)}")


def needs_server(workload: str) -> bool:
    w = workloads.describe(workload)
    return bool(w and w.needs_server)


def delay_s(preset: Preset | None) -> float:
    if preset is not None and "delay_ms" in preset.params:
        return float(preset.params["delay_ms"]) / 1000
    return 0.2


def specs(
    preset: Preset,
    url: str | None,
    *,
    size: int | None = None,
    tasks: int | None = None,
    workers: int | None = None,
) -> list[RunSpec]:
    """The RunSpecs of a preset, one per pool."""
    api = getattr(cpresets, "preset_specs", None)
    if api is not None:
        return list(
            api(preset, size=size, tasks=tasks, workers=workers, heartbeat=True, server_url=url)
        )
    out = []
    params = {"url": url} if url else {}
    for pc in preset.pools:
        out.append(
            build_spec(
                preset.workload,
                pool=pc.pool,
                workers=workers if workers is not None else pc.workers,
                tasks=tasks if tasks is not None else preset.tasks,
                size=size if size is not None else preset.size,
                start_method=pc.start_method,
                chunksize=pc.chunksize,
                switch_interval=pc.switch_interval,
                params=params,
            )
        )
    return out


def check(preset: Preset, runs: list[dict[str, Any]]) -> ClaimResult:
    api = getattr(cpresets, "check_claim", None)
    if api is None:
        return ClaimResult(None, "claim not checked (this gilviz has no claim checks yet)")
    try:
        return api(preset, runs)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        return ClaimResult(None, f"claim not checked: {type(exc).__name__}: {exc}")


def narration_line(preset: Preset | None, workload: str) -> str:
    """One line to show under the title."""
    if preset is not None and preset.narration:
        return preset.narration[0]
    w = workloads.describe(workload)
    return w.doc if w else f"your workload {workload}"


def is_live_switch(preset: Preset | None) -> bool:
    """Whether +/- should change sys.setswitchinterval live (convoy, switch-interval)."""
    if preset is None:
        return False
    return preset.name in ("convoy", "switch-interval") or any(
        pc.switch_interval is not None for pc in preset.pools
    )
