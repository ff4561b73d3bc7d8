"""What to run: a validated RunSpec, built from the command line or a preset.

The gilviz process validates everything it can without executing user code (numbers, pool
kinds, start methods, built-in names); the runner resolves ``module:function`` workloads and
reports a failure to import as bad input.
"""

from __future__ import annotations

import ast
import multiprocessing
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from gilviz.core.errors import BadInput, did_you_mean
from gilviz.core.protocol import POOLS
from gilviz.core.running import workloads

MAX_WORKERS = 1024
#: Specs are built once the local server's URL is known; this one stands in to validate
#: them before it is started.
PLACEHOLDER_URL = "http://127.0.0.1:1/"
MAX_TASKS = 10_000_000


@dataclass(frozen=True)
class RunSpec:
    """One run of one workload on one pool; serialised as JSON to the runner."""

    workload: str
    pool: str = "process"
    workers: int = 4
    tasks: int = 4
    size: int = 0
    start_method: str | None = None  # process pools: fork, spawn or forkserver
    chunksize: int = 1
    switch_interval: float | None = None  # sys.setswitchinterval in the runner, seconds
    heartbeat: bool = True
    python: str | None = None  # run the runner under this interpreter
    params: dict[str, Any] = field(default_factory=dict)  # e.g. the fetch server's URL
    label: str | None = None  # how reports name this run (a preset's pool label)
    #: A user function's arguments, as a Python literal (a tuple gives several); None: it
    #: is called with the size.
    args: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSpec:
        return cls(**data)

    def with_(self, **changes: Any) -> RunSpec:
        return replace(self, **changes)


def parse_int(text: str | int, what: str, lo: int, hi: int) -> int:
    """An integer in [lo, hi] from user text, accepting 10_000 and 1e6; BadInput otherwise."""
    if isinstance(text, bool):
        raise BadInput(f"{what} must be a whole number, not {text!r}")
    if isinstance(text, int):
        value = text
    else:
        raw = str(text).strip().replace("_", "")
        try:
            value = int(raw)
        except ValueError:
            try:
                as_float = float(raw)
            except ValueError:
                raise BadInput(f"{what} must be a whole number, not {text!r}") from None
            if not as_float.is_integer():
                raise BadInput(f"{what} must be a whole number, not {text!r}") from None
            value = int(as_float)
    if not lo <= value <= hi:
        raise BadInput(f"{what} must be between {lo:,} and {hi:,}, not {value:,}")
    return value


def parse_float(text: str | float, what: str, lo: float, hi: float) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise BadInput(f"{what} must be a number, not {text!r}") from None
    if not lo <= value <= hi or value != value:
        raise BadInput(f"{what} must be between {lo:g} and {hi:g}, not {text!r}")
    return value


def build_spec(
    workload: str,
    pool: str = "process",
    workers: str | int | None = None,
    tasks: str | int | None = None,
    size: str | int | None = None,
    start_method: str | None = None,
    chunksize: str | int | None = None,
    switch_interval: str | float | None = None,
    heartbeat: bool = True,
    python: str | None = None,
    params: dict[str, Any] | None = None,
    label: str | None = None,
    args: str | None = None,
) -> RunSpec:
    """Validate user input into a RunSpec; raises BadInput with one readable line."""
    builtin = workloads.describe(workload)
    if builtin is None and not workloads.is_user_spec(workload):
        hint = did_you_mean(workload, workloads.BUILTINS)
        raise BadInput(
            f"unknown workload {workload!r}{hint}; use one of {', '.join(workloads.BUILTINS)}, "
            "or module:function, or path/to/file.py:function"
        )
    if pool not in POOLS:
        raise BadInput(
            f"unknown pool {pool!r}{did_you_mean(pool, POOLS)}; use one of {', '.join(POOLS)}"
        )
    if start_method is not None:
        methods = multiprocessing.get_all_start_methods()
        if start_method not in methods:
            raise BadInput(
                f"unknown start method {start_method!r}: use one of {', '.join(methods)}"
            )
        if pool != "process":
            raise BadInput(f"--start-method applies to the process pool, not to {pool!r}")
    default_workers = builtin.default_workers if builtin else 4
    default_tasks = builtin.default_tasks if builtin else 4
    n_workers = parse_int(
        default_workers if workers is None else workers, "--workers", 1, MAX_WORKERS
    )
    n_tasks = parse_int(default_tasks if tasks is None else tasks, "--tasks", 1, MAX_TASKS)
    if builtin is not None:
        try:
            n_size = parse_int(
                builtin.default_size if size is None else size,
                "--size",
                builtin.min_size,
                builtin.max_size,
            )
        except BadInput as exc:
            raise BadInput(f"{exc} (for {workload}, the size is {builtin.size_unit})") from None
    else:
        n_size = parse_int(0 if size is None else size, "--size", -(2**62), 2**62)
    args = _check_args(workload, builtin is not None, size, args)
    n_chunk = parse_int(1 if chunksize is None else chunksize, "--chunksize", 1, MAX_TASKS)
    interval = None
    if switch_interval is not None:
        interval = parse_float(switch_interval, "--switch-interval (seconds)", 1e-6, 1.0)
    if pool == "serial":
        n_workers = 1
    return RunSpec(
        workload=workload,
        pool=pool,
        workers=n_workers,
        tasks=n_tasks,
        size=n_size,
        start_method=start_method,
        chunksize=n_chunk,
        switch_interval=interval,
        heartbeat=heartbeat,
        python=python,
        params=dict(params or {}),
        label=label,
        args=args,
    )


def _check_args(workload: str, builtin: bool, size: Any, args: str | None) -> str | None:
    """A user function is called with --args, or with --size, or with no argument when
    neither is given (never with a made-up one); a built-in takes --size only."""
    if args is None:
        return "()" if not builtin and size is None else None
    if builtin:
        raise BadInput(f"{workload} is a built-in workload: it takes --size, not --args")
    if size is not None:
        raise BadInput("give --size or --args, not both")
    try:
        ast.literal_eval(args)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(
            f"--args {args!r} is not a Python literal ({reason}): "
            "use numbers, strings, tuples, lists, dicts, e.g. --args '(3_000_000, \"x\")'"
        ) from None
    return args
