"""Facts about this machine and interpreter: cores, quota, Python build, pool kinds.

Read by ``gilviz doctor``, stamped into every JSON report, and used by the runner launcher
to decide which pool kinds exist. Nothing here measures a run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

POOL_KINDS: tuple[str, ...] = ("serial", "thread", "process", "interpreter", "free-threaded")


def cores_logical() -> int:
    return os.cpu_count() or 1


def usable_cpus() -> list[int]:
    """CPU numbers this process may run on (affinity), sorted; all CPUs where unsupported."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return list(range(cores_logical()))


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs granted by the cgroup quota (v2 ``cpu.max`` or v1 cfs files), None if unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota_us > 0 and period_us > 0:
            return quota_us / period_us
    except (OSError, ValueError):
        pass
    return None


def cores_usable() -> int:
    """Cores work can really use: affinity, capped by the cgroup quota (rounded down, >= 1)."""
    n = len(usable_cpus())
    limit = cgroup_cpu_limit()
    if limit is not None:
        n = min(n, max(1, int(limit)))
    return n


def machine_info() -> dict:
    return {
        "cores_logical": cores_logical(),
        "cores_usable": cores_usable(),
        "cgroup_cpu_limit": cgroup_cpu_limit(),
    }


def gil_enabled() -> bool:
    """False only on a free-threaded build running with the GIL off."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return True if probe is None else bool(probe())


def python_info() -> dict:
    """This interpreter, as the JSON's ``python`` block names it (when no runner said)."""
    from gilviz.core.protocol import python_facts

    return python_facts()


def proc_sampling_readable() -> tuple[bool, str]:
    """Whether per-thread /proc sampling works here, and why not when it does not."""
    tid = threading.get_native_id()
    base = Path(f"/proc/{os.getpid()}/task/{tid}")
    for name in ("stat", "schedstat", "syscall"):
        try:
            (base / name).read_bytes()
        except OSError as exc:
            return False, f"{base / name}: {exc.strerror or exc}"
    return True, "/proc/PID/task/TID/{stat,schedstat,syscall} readable"


@dataclass(frozen=True)
class InterpreterInfo:
    """What an interpreter (this one or ``--python``) offers the runner."""

    executable: str
    version: str
    implementation: str
    gil_enabled: bool
    free_threaded_build: bool
    start_methods: list[str]
    has_interpreter_pool: bool
    shared_libpython: bool
    default_start_method: str = "n/a"  # the interpreter's own (forkserver from 3.14)
    build: str = ""  # compiler, how libpython is linked, ABI flags: "GCC 12.2.0, shared"
    config_args: str | None = None  # ./configure's arguments, as that build records them
    pools: dict[str, str | None] = field(default_factory=dict)  # kind -> None or why not

    def label(self) -> str:
        """e.g. "CPython 3.14.10 (GCC 16.2.0, static libpython)": names a figure's source."""
        return f"{self.implementation} {self.version} ({self.build})"

    def available_pools(self) -> list[str]:
        return [k for k in POOL_KINDS if self.pools.get(k) is None]


def _probe_self() -> dict:
    """Runs inside the interpreter being probed (also via ``python -c``): stdlib only."""
    import concurrent.futures as cf
    import multiprocessing as mp
    import platform as pf
    import sys as _sys
    import sysconfig as sc

    gil = getattr(_sys, "_is_gil_enabled", None)
    shared = bool(sc.get_config_var("Py_ENABLE_SHARED"))
    try:  # what this executable does, which a distribution's build flags may not say
        with open("/proc/self/maps") as maps:
            shared = "/libpython" in maps.read()
    except OSError:
        pass
    free = bool(sc.get_config_var("Py_GIL_DISABLED"))
    flags = getattr(_sys, "abiflags", "")
    build = [pf.python_compiler(), "shared libpython" if shared else "static libpython"]
    if free:
        build.append("free-threaded")
    if "d" in flags:
        build.append("debug")
    # The default context's method, without fixing it for anyone (this is a probe).
    default = mp.get_start_method(allow_none=True) or mp.get_context().get_start_method()
    return {
        "executable": _sys.executable,
        "version": pf.python_version(),
        "implementation": pf.python_implementation(),
        "gil_enabled": True if gil is None else bool(gil()),
        "free_threaded_build": bool(sc.get_config_var("Py_GIL_DISABLED")),
        "start_methods": mp.get_all_start_methods(),
        "has_interpreter_pool": hasattr(cf, "InterpreterPoolExecutor"),
        "shared_libpython": shared,
        "default_start_method": default,
        "build": ", ".join(build),
        "config_args": sc.get_config_var("CONFIG_ARGS"),
    }


def _pool_availability(raw: dict) -> dict[str, str | None]:
    pools: dict[str, str | None] = {"serial": None, "thread": None, "process": None}
    if raw["has_interpreter_pool"]:
        pools["interpreter"] = None
    else:
        pools["interpreter"] = (
            f"Python {raw['version']} has no concurrent.futures.InterpreterPoolExecutor "
            "(added in 3.14)"
        )
    if raw["free_threaded_build"] and not raw["gil_enabled"]:
        pools["free-threaded"] = None
    elif raw["free_threaded_build"]:
        pools["free-threaded"] = "free-threaded build, but the GIL is enabled (PYTHON_GIL=1?)"
    else:
        pools["free-threaded"] = (
            f"{raw['executable']} is not a free-threaded build; pass --python with a "
            "python3.13t or newer"
        )
    return pools


#: What a pool kind needs that the target Python may lack, in a few words for a screen.
POOL_NEEDS: dict[str, str] = {
    "interpreter": "needs Python 3.14+",
    "free-threaded": "needs a free-threaded build",
}


def pools_unavailable_line(
    kinds: Iterable[str], pools: Mapping[str, str | None], python: str
) -> str | None:
    """Which of ``kinds`` the target Python cannot run, with what each needs, in one line:
    "interpreter: needs Python 3.14+ (this is CPython 3.11.7)". ``pools``: kind -> None
    (available) or why not; a kind it does not name is unknown and left unsaid. None when
    every kind is available (or unknown)."""
    parts = [
        f"{k}: {POOL_NEEDS.get(k) or pools[k]}"
        for k in dict.fromkeys(kinds)
        if pools.get(k) is not None
    ]
    if not parts:
        return None
    # The Python is named after the first part: a narrow screen cuts the line's end.
    return "; ".join([f"{parts[0]} (this is {python})", *parts[1:]])


_self_raw: dict | None = None


def _self_probed() -> dict:
    """This interpreter's probe, made once: it reads the whole of /proc/self/maps, and the
    dashboard asks for every preset it loads."""
    global _self_raw
    if _self_raw is None:
        _self_raw = _probe_self()
    return dict(_self_raw, start_methods=list(_self_raw["start_methods"]))


def interpreter_info(python: str | None = None) -> InterpreterInfo:
    """Probe this interpreter, or another one by running it (raises OSError/ValueError)."""
    if python is None or os.path.realpath(python) == os.path.realpath(sys.executable):
        raw = _self_probed()
    else:
        import inspect

        src = inspect.getsource(_probe_self) + "\nimport json\nprint(json.dumps(_probe_self()))\n"
        out = subprocess.run(
            [python, "-I", "-c", src], capture_output=True, text=True, timeout=30, check=False
        )
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or ["no output"])[-1]
            raise ValueError(f"{python} failed to start: {last}")
        try:
            raw = json.loads(out.stdout)
        except ValueError:
            raise ValueError(f"{python} did not answer as a Python 3.10+ would") from None
    return InterpreterInfo(**raw, pools=_pool_availability(raw))


FREE_THREADED_UNTESTED = (
    "untested: gilviz has not been run on a free-threaded build (none could be obtained "
    "where it is tested); GIL figures are n/a, the other states still split"
)
#: What doctor says of free-threaded builds when the target is not one: still untested.
FREE_THREADED_ELSEWHERE = (
    "untested: gilviz has not been run on a free-threaded build (none could be obtained "
    "where it is tested; see docs/measurement.md, Blind spots); this Python is not one"
)


def gil_probe(python: str | None = None, timeout: float = 20.0) -> dict:
    """Where a short-lived process of ``python`` keeps its GIL, and whether the holder can
    be read from its memory (with the reason when not): what the sampler will find in that
    interpreter's runners. Measured by starting it, never assumed from its version."""
    from gilviz.core.measuring import gilsym

    exe = python or sys.executable
    out: dict = {"located": None, "method": None, "holder": None}
    try:
        proc = subprocess.Popen(
            [exe, "-I", "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError as exc:
        out["located"] = f"n/a: cannot start {exe}: {exc.strerror or exc}"
        return out
    try:
        if proc.stdout.readline().strip() != "ready":
            out["located"] = f"n/a: {exe} did not start"
            return out
        try:
            loc = gilsym.locate_gil(proc.pid)
        except gilsym.GilNotFound as exc:
            out["located"] = f"n/a: {exc}"
            return out
        out["located"] = "yes"
        out["method"] = loc.method
        try:
            path, root = gilsym.exe_in_root(proc.pid)
            off = gilsym.calibrate_gil_holder(path, loc.end - loc.start, timeout, root)
            out["holder"] = f"readable: {off.method}"
        except (gilsym.GilNotFound, OSError) as exc:
            out["holder"] = f"n/a: {exc}"
        return out
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def doctor_report(python: str | None = None) -> dict:
    """Everything ``gilviz doctor`` says: the machine's facts, and the target interpreter's
    own (``python``, or this one): its build, start methods, pools and GIL."""
    info = interpreter_info(python)
    ok, why = proc_sampling_readable()
    gil = gil_probe(python) if ok else {"located": f"n/a: {why}", "method": None, "holder": None}
    # Said whatever the target: free-threaded builds are a blind spot of gilviz's tests.
    gil["free_threaded"] = (
        FREE_THREADED_UNTESTED if info.free_threaded_build else FREE_THREADED_ELSEWHERE
    )
    return {
        "machine": {
            **machine_info(),
            "usable_cpus": usable_cpus(),
            "platform": sys.platform,
        },
        "python": {
            **{k: v for k, v in asdict(info).items() if k != "pools"},
            "path": python or sys.executable,
        },
        "sampling": {
            "proc_task_readable": ok,
            "detail": why,
            "method": "/proc sampling" if ok else "psutil (per-thread CPU only)",
        },
        "gil": gil,
        "start_methods": info.start_methods,
        "default_start_method": info.default_start_method,
        "pools": {
            k: ("available" if v is None else f"unavailable: {v}") for k, v in info.pools.items()
        },
    }
