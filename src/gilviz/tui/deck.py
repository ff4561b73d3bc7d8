"""The UI's access to presets: the deck to show, the specs of a preset, its claim check,
and what a screen needs to know of a workload (its local server, its narration line).

A thin layer over ``gilviz.core.teaching.presets`` that turns its errors into what a screen
shows. No Textual import.
"""

from __future__ import annotations

from typing import Any

from gilviz.core.errors import BadInput, did_you_mean
from gilviz.core.running import workloads
from gilviz.core.running.spec import RunSpec
from gilviz.core.teaching import presets as cpresets
from gilviz.core.teaching.presets import ClaimResult, Preset


def load(deck_path: str | None = None) -> list[Preset]:
    """The presets of ``deck_path`` (a TOML deck), or the built-ins that gilviz's own
    Python can run: the interpreter-pool ones need 3.14+ (``gilviz run --preset NAME
    --python`` runs them with another)."""
    if deck_path:
        return list(cpresets.load_deck(deck_path))
    return [p for p in cpresets.builtin_presets() if runnable_here(p)]


def runnable_here(preset: Preset) -> bool:
    """Every pool kind of ``preset`` is available in this Python."""
    from gilviz.core.measuring import machine

    try:
        pools = machine.interpreter_info(None).pools
    except (OSError, ValueError):
        return True
    return all(pools.get(c.pool, "unknown") is None for c in preset.pools)


def left_out_note(deck_path: str | None = None) -> str | None:
    """What ``load`` leaves out of the built-in deck and why, in one line (reason first: a
    narrow screen cuts the end); None for a deck file, or when nothing is left out."""
    if deck_path:
        return None
    from gilviz.core.measuring import machine

    try:
        info = machine.interpreter_info(None)
    except (OSError, ValueError):
        return None
    left = [p for p in cpresets.builtin_presets() if not runnable_here(p)]
    why = machine.pools_unavailable_line(
        (c.pool for p in left for c in p.pools), info.pools, f"{info.implementation} {info.version}"
    )
    if not left or why is None:
        return None
    names = ", ".join(p.name for p in left)
    return f"{why}: {len(left)} preset{'s' if len(left) > 1 else ''} left out ({names})"


def runnable_part(
    preset: Preset, pools: dict[str, str | None], python: str
) -> tuple[Preset, str | None]:
    """The preset with only the pools this Python has, and the line saying what was not run
    (see core.teaching.presets.runnable_part)."""
    return cpresets.runnable_part(preset, pools, python)


def find(deck: list[Preset], name: str) -> Preset:
    for p in deck:
        if p.name == name:
            return p
    names = [p.name for p in deck]
    hint = did_you_mean(name, names)
    raise BadInput(f"unknown preset {name!r}: use one of {', '.join(names)}{hint}")


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
    return list(
        cpresets.preset_specs(
            preset, size=size, tasks=tasks, workers=workers, heartbeat=True, server_url=url
        )
    )


def check(
    preset: Preset,
    runs: list[dict[str, Any]],
    cores: int | None = None,
    load: float | None = None,
) -> ClaimResult:
    """The claim checked here (or on a recorded machine's ``cores`` and ``load``), never
    raising."""
    try:
        return cpresets.check_claim(preset, runs, cores, load)
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
