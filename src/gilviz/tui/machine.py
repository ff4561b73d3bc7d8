"""The machine facts the panels state (cores, cgroup quota, the Python, the pool kinds it can
run): measured here for live runs, read from a recording or a fixture otherwise. No Textual
import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gilviz.core.measuring import machine


@dataclass(frozen=True)
class Machine:
    """What the cores panel states about this machine."""

    cores_logical: int
    usable_cpus: tuple[int, ...]
    quota: float | None  # CPUs granted by the cgroup quota, None when unlimited
    cores_usable: int
    python: str = ""
    gil_enabled: bool = True
    pools: dict[str, str | None] = field(default_factory=dict)  # kind -> None or why not

    @classmethod
    def here(cls) -> Machine:
        import platform

        pools: dict[str, str | None] = {}
        try:
            pools = dict(machine.interpreter_info(None).pools)
        except (OSError, ValueError):
            pools = {"serial": None, "thread": None, "process": None}
        return cls(
            cores_logical=machine.cores_logical(),
            usable_cpus=tuple(machine.usable_cpus()),
            quota=machine.cgroup_cpu_limit(),
            cores_usable=machine.cores_usable(),
            python=f"{platform.python_implementation()} {platform.python_version()}",
            gil_enabled=machine.gil_enabled(),
            pools=pools,
        )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["usable_cpus"] = list(self.usable_cpus)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Machine:
        d = dict(d)
        d["usable_cpus"] = tuple(d["usable_cpus"])
        return cls(**d)
