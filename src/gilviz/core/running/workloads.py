"""The work gilviz races on pools: built-in workloads and the user's own functions.

Each task is a call ``fn(size)`` made in a pool worker (a thread of the runner, or a process
it started). Built-ins poll :func:`cancelled` often enough to stop within a second when a run
is stopped. Resolution of ``module:function`` and ``path/file.py:function`` happens in the
runner (never in the gilviz process, which must not execute the user's code).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_cancel = threading.Event()
#: Settings of the current run (e.g. the fetch server's URL), set by the runner and by each
#: process worker's initializer before any task runs.
params: dict[str, Any] = {}


class Cancelled(Exception):
    """Raised inside a built-in workload when its run was stopped."""


def cancelled() -> bool:
    return _cancel.is_set()


def request_cancel() -> None:
    _cancel.set()


def reset_cancel() -> None:
    """Clear the flag (tests; a runner process is used for one run only)."""
    _cancel.clear()


def _check() -> None:
    if _cancel.is_set():
        raise Cancelled("run stopped")


# --- built-in workloads --------------------------------------------------------------------


def crunch(n: int) -> int:
    """Pure-Python arithmetic: the sum of i*i for i < n. Holds the GIL all the time,
    so threads take turns on one core while processes run side by side."""
    total = 0
    step = 200_000
    for lo in range(0, n, step):
        _check()
        total += sum(i * i for i in range(lo, min(lo + step, n)))
    return total


def fetch(n_bytes: int) -> int:
    """The seed's urlopen example against gilviz's local HTTP server (set delay per reply).
    The thread blocks in recv with the GIL released, so threads overlap the waits."""
    _check()
    url = params.get("url")
    if not url:
        raise RuntimeError("fetch needs gilviz's local server (its URL was not set)")
    import urllib.request  # here, not at the top: a subinterpreter imports this module anew

    with urllib.request.urlopen(f"{url}?bytes={n_bytes}", timeout=30) as reply:
        return len(reply.read())


# A long sleep is cut into sleeps of at most this, to notice a stop (the runner kills what
# has not stopped within protocol.RUNNER_STOP_GRACE_S). Not shorter: each cut wakes the
# thread, which then takes the GIL, and costs the sampler a full read of the thread where a
# still-blocked one costs a schedstat read (docs/measurement.md, "Cost", has the figures).
CANCEL_POLL_S = 0.25


def sleep(ms: int) -> int:
    """time.sleep: a blocking wait that releases the GIL, like waiting for a disk or a peer.
    One sleep per task up to CANCEL_POLL_S (the default 200 ms task is one time.sleep)."""
    deadline = time.monotonic() + ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        _check()
        time.sleep(min(left, CANCEL_POLL_S))
    return ms


_BUFFERS: dict[int, bytes] = {}


def _buffer(mib: int) -> bytes:
    # One pseudo-random buffer per process and size, built once: the task should time the
    # hashing or compressing, not the making of its input.
    buf = _BUFFERS.get(mib)
    if buf is None:
        block = hashlib.sha256(b"gilviz").digest() * (1 << 15)  # 1 MiB, repetitive enough
        buf = _BUFFERS[mib] = block * mib
    return buf


def hash(mib: int) -> str:  # noqa: A001 - the workload's public name
    """hashlib.sha256 over mib MiB: C code that releases the GIL on big buffers, so threads
    scale on CPU work too, until they run out of cores."""
    data = memoryview(_buffer(min(mib, 64)))
    h = hashlib.sha256()
    done = 0
    chunk = 1 << 22
    while done < mib << 20:
        _check()
        off = done % len(data)
        h.update(data[off : off + chunk])
        done += min(chunk, len(data) - off)
    return h.hexdigest()


def compress(mib: int) -> int:
    """zlib.compress of mib MiB: another C library that drops the GIL while it works."""
    data = _buffer(1)
    out = 0
    for _ in range(mib):
        _check()
        out += len(zlib.compress(data, 6))
    return out


def pickle_heavy(payload: list[int]) -> list[int]:
    """Receives a list of size ints and returns one as big. The work is trivial; a process
    pool pays to pickle the argument and the result through a pipe, a thread pool passes a
    reference."""
    _check()
    return [x + 1 for x in payload]


def _int_list(n: int) -> list[int]:
    return list(range(n))


def tiny(n: int) -> int:
    """A task of a few microseconds: sum(range(n)). Per-task overhead dominates; a process
    pool needs chunksize to amortise the round trips."""
    return sum(range(n))


COUNTER = 0


def _touch() -> None:
    # A call between read and write gives the interpreter a point to switch threads.
    pass


def _interpreter_id() -> int:
    """Which interpreter of this process runs us (0: the main one, or no subinterpreters)."""
    try:
        from concurrent import interpreters  # 3.14+, as are interpreter pools
    except ImportError:
        return 0
    return int(interpreters.get_current().id)


def shared_counter(n: int) -> dict[str, int]:
    """n unsynchronised increments of a module-level counter. Threads share it and lose
    updates; each process, and each subinterpreter, increments its own copy."""
    global COUNTER
    for i in range(n):
        if i & 0xFFFF == 0:
            _check()
        value = COUNTER
        _touch()
        COUNTER = value + 1
    return {"pid": os.getpid(), "interpreter": _interpreter_id(), "counter": COUNTER}


class CounterTally:
    """What the shared-counter summary needs of the results, folded as they come: the
    highest count each copy of the counter reached, one copy per process and, in a process,
    per interpreter (a run of a million tasks keeps one int a copy, not a million results)."""

    def __init__(self) -> None:
        self.per_copy: dict[tuple[int, int], int] = {}

    def add(self, result: dict[str, int]) -> None:
        key = (result["pid"], result.get("interpreter", 0))
        if result["counter"] > self.per_copy.get(key, 0):
            self.per_copy[key] = result["counter"]

    def merge(self, other: CounterTally) -> None:
        for key, counter in other.per_copy.items():
            if counter > self.per_copy.get(key, 0):
                self.per_copy[key] = counter

    def summary(self, tasks: int, size: int) -> dict[str, Any]:
        per_pid = self.per_copy
        expected = tasks * size
        if per_pid.keys() == {(os.getpid(), _interpreter_id())}:  # threads, serial: one, shared
            final = COUNTER
            return {
                "expected": expected,
                "final": final,
                "lost_updates": expected - final,
                "copies": 1,
            }
        return {
            "expected": expected,
            "final": COUNTER,  # the runner's own copy: nobody incremented it
            "lost_updates": None,
            "copies": len(per_pid),
            "per_process": sorted(per_pid.values()),
        }


class SharedTotal:
    """A total and the lock that guards it: the one object every task of a run is given."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.total = 0
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedTotal(n={self.n}, total={self.total}, lock)"


def unshareable(shared: SharedTotal) -> dict[str, int]:
    """Adds 1 to a total n times, each time under the lock that comes with it. Threads are
    handed the same object and count every update; a process or interpreter pool must copy
    its argument into each worker, and a lock cannot be copied: the pool refuses it."""
    for i in range(shared.n):
        if i & 0xFFFF == 0:
            _check()
        with shared.lock:
            shared.total += 1
    return {
        "pid": os.getpid(),
        "interpreter": _interpreter_id(),
        "object": id(shared),
        "total": shared.total,
    }


class SharedTally:
    """What the unshareable summary needs of the results: which objects the tasks were
    given (one per process, interpreter and address) and the highest total seen."""

    def __init__(self) -> None:
        self.objects: set[tuple[int, int, int]] = set()
        self.total = 0

    def add(self, result: dict[str, int]) -> None:
        self.objects.add((result["pid"], result.get("interpreter", 0), result["object"]))
        self.total = max(self.total, result["total"])

    def merge(self, other: SharedTally) -> None:
        self.objects |= other.objects
        self.total = max(self.total, other.total)

    def summary(self, tasks: int, size: int) -> dict[str, Any]:
        return {"expected": tasks * size, "total": self.total, "objects": len(self.objects)}


def segfault(ms: int) -> None:
    """Sleeps ms, then dereferences a NULL pointer with ctypes: the interpreter running the
    task dies. A thread pool loses its whole process; a process pool loses one worker."""
    sleep(ms)
    import ctypes

    ctypes.string_at(0)


# --- registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """A built-in workload: its function and what its size means."""

    name: str
    fn: Callable[[int], Any]
    size_unit: str
    default_size: int
    min_size: int
    max_size: int
    default_tasks: int = 4
    default_workers: int = 4
    needs_server: bool = False
    #: Makes the fold of results the workload's summary is drawn from (``add(result)``,
    #: ``merge(other)``, ``summary(tasks, size)``); None: results are dropped as they come.
    tally: Callable[[], Any] | None = None
    crashes: bool = False
    #: Builds each task's argument from the size (in the runner); default: the size itself.
    make_arg: Callable[[int], Any] | None = None
    #: What the workload does and shows, in the words the screens use (the docstring is for
    #: whoever reads the code).
    about: str = ""

    @property
    def doc(self) -> str:
        return self.about


BUILTINS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "crunch",
            crunch,
            "how many squares each task adds up",
            10_000_000,
            1,
            10**10,
            about="Pure-Python arithmetic: each task adds up i*i for every i below its size. "
            "It holds the GIL all the time, so threads take turns on one core while processes "
            "run side by side.",
        ),
        Workload(
            "fetch",
            fetch,
            "the bytes in each reply",
            1024,
            0,
            64 << 20,
            default_tasks=10,
            default_workers=10,
            needs_server=True,
            about="Each task downloads a reply from gilviz's local web server, which waits "
            "before it answers. A thread waiting for its reply lets go of the GIL, so threads "
            "overlap the waits.",
        ),
        Workload(
            "sleep",
            sleep,
            "each task's sleep, in ms",
            200,
            0,
            3_600_000,
            default_tasks=8,
            about="Each task sleeps: a blocking wait, like waiting for a disk or a peer. A "
            "sleeping thread lets go of the GIL, so threads overlap the waits.",
        ),
        Workload(
            "hash",
            hash,
            "the MiB each task hashes",
            256,
            1,
            1 << 20,
            about="Each task computes a SHA-256 digest of a big buffer. hashlib is C code that "
            "lets go of the GIL while it digests, so threads scale on CPU work too, until they "
            "run out of cores.",
        ),
        Workload(
            "compress",
            compress,
            "the MiB each task compresses",
            16,
            1,
            1 << 16,
            about="Each task compresses a big buffer with zlib, another C library that lets go "
            "of the GIL while it works.",
        ),
        Workload(
            "pickle-heavy",
            pickle_heavy,
            "the ints in each task's list, sent and returned",
            1_000_000,
            1,
            10**8,
            make_arg=_int_list,
            about="Each task gets a long list of ints and returns one as long; the work itself "
            "is trivial. A process pool pays to pickle both lists through a pipe; a thread "
            "pool passes a reference.",
        ),
        Workload(
            "tiny",
            tiny,
            "how many numbers each task adds up",
            100,
            0,
            10**6,
            default_tasks=20_000,
            default_workers=2,
            about="Thousands of tasks of a few microseconds each: handing a task over costs "
            "more than running it. A process pool needs a chunksize to send many at once.",
        ),
        Workload(
            "shared-counter",
            shared_counter,
            "the increments each task makes",
            200_000,
            1,
            10**9,
            tally=CounterTally,
            about="Each task adds one to a global counter, over and over, with no lock. "
            "Threads share the counter and lose updates; each process, and each interpreter, "
            "counts its own copy.",
        ),
        Workload(
            "unshareable",
            unshareable,
            "the locked increments each task makes",
            200_000,
            1,
            10**9,
            tally=SharedTally,
            make_arg=SharedTotal,
            about="Each task adds one to a total, over and over, under the lock that comes "
            "with it. Threads are handed the same object and count every update; a process or "
            "interpreter pool must copy it into each worker, and a lock cannot be copied: the "
            "pool refuses it.",
        ),
        Workload(
            "segfault",
            segfault,
            "the ms each task waits before it crashes",
            100,
            0,
            60_000,
            crashes=True,
            about="Each task waits, then reads address zero: a segfault that kills the "
            "interpreter running it. A thread pool loses its whole process; a process pool "
            "loses one worker.",
        ),
    )
}


def is_user_spec(name: str) -> bool:
    return ":" in name


def describe(name: str) -> Workload | None:
    return BUILTINS.get(name)


_USER: dict[str, Callable[..., Any]] = {}


def _load_user(spec: str) -> Callable[..., Any]:
    """The user's function, imported once (its module's top level runs once)."""
    fn = _USER.get(spec)
    if fn is None:
        fn = _USER[spec] = _import_user(spec)
    return fn


def _import_user(spec: str) -> Callable[..., Any]:
    target, _, func_name = spec.rpartition(":")
    if not target or not func_name:
        raise ValueError(f"workload {spec!r}: expected module:function or path.py:function")
    if target.endswith(".py") or os.sep in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"workload {spec!r}: no such file {path}")
        # Import by module name with its folder on sys.path so that spawned process workers
        # (which unpickle the function by reference) can import it too.
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        mod_name = path.stem
        spec_obj = importlib.util.spec_from_file_location(mod_name, path)
        if spec_obj is None or spec_obj.loader is None:
            raise ValueError(f"workload {spec!r}: cannot load {path}")
        module = importlib.util.module_from_spec(spec_obj)
        sys.modules[mod_name] = module
        try:
            spec_obj.loader.exec_module(module)
        except BaseException as exc:
            sys.modules.pop(mod_name, None)
            raise ValueError(
                f"workload {spec!r}: importing {path} failed: {type(exc).__name__}: {exc}"
            ) from None
    else:
        try:
            module = importlib.import_module(target)
        except BaseException as exc:
            raise ValueError(
                f"workload {spec!r}: cannot import {target}: {type(exc).__name__}: {exc}"
            ) from None
    fn = getattr(module, func_name, None)
    if fn is None:
        raise ValueError(f"workload {spec!r}: {target} has no attribute {func_name!r}")
    if not callable(fn):
        raise ValueError(f"workload {spec!r}: {target}.{func_name} is not callable")
    return fn


_RESOLVED: dict[tuple[str, bool], Callable[[Any], Any]] = {}


def resolve(name: str, spread: bool = False) -> Callable[[Any], Any]:
    """The callable a task runs with its one argument: the size, or with ``spread`` (a user
    function given ``--args``, or nothing) the tuple of arguments to call it with. Raises
    ValueError with a one-line reason."""
    fn = _RESOLVED.get((name, spread))
    if fn is not None:
        return fn
    if name in BUILTINS:
        fn = BUILTINS[name].fn
    elif is_user_spec(name):
        fn = _load_user(name)
        if spread:
            fn = _Spread(fn)
    else:
        raise ValueError(f"unknown workload {name!r} (built-ins: {', '.join(BUILTINS)})")
    _RESOLVED[(name, spread)] = fn
    return fn


def check_call(name: str, args: tuple | None, size: int) -> None:
    """That a user function can be called the way its tasks will call it: with ``args``, or
    with the size when ``args`` is None. ValueError with what to change, before any task."""
    user = _load_user(name)
    try:
        sig = inspect.signature(user)
    except (TypeError, ValueError):  # a builtin or C function: its first call will tell
        return
    call = args if args is not None else (size,)
    try:
        sig.bind(*call)
    except TypeError as exc:
        if args == ():
            raise ValueError(
                f"workload {name!r} needs an argument{_params(sig)}: give --size N (one int) "
                "or --args LITERAL (a Python literal; a tuple gives several)"
            ) from None
        given = f"--args {args!r}" if args is not None else f"--size {size}"
        raise ValueError(
            f"workload {name!r} cannot be called with {given}{_params(sig)}: {exc}"
        ) from None


def _params(sig: inspect.Signature) -> str:
    return f" (it takes {sig})"


class _Spread:
    """Calls a user function with a tuple of arguments (picklable by reference)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, args: tuple) -> Any:
        return self.fn(*args)
