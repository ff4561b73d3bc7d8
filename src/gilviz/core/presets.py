"""Presets: the talk deck as data. A preset names a workload, its parameters, the pools to
race and a narration whose claim gilviz checks against the measurement after the run.

Built-ins live in ``gilviz/presets/*.toml``; a user's deck is any TOML file of the same
shape. (Contract types below; loading, validation and claim checks are filled in by the
presets work.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PoolChoice:
    """One pool a preset runs: kind, size and process-pool options."""

    pool: str
    workers: int | None = None
    start_method: str | None = None
    chunksize: int | None = None
    switch_interval: float | None = None


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
